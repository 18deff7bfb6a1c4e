"""Settings of the Wagtail benchmark: the test site's (tests/wagtailsite), with
Wagtail's localisation on, so that the generated site has a translated tree as
multilingual sites do. The database comes from WAGTAILSITE_DATABASE_URL, which
wagtail_bench.py sets for each process.
"""

from wagtailsite.settings import *  # noqa: F401,F403

WAGTAIL_I18N_ENABLED = True
LANGUAGES = WAGTAIL_CONTENT_LANGUAGES = [("en", "English"), ("fr", "French")]
