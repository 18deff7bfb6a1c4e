"""Lino Amici's demo site ``amici1`` with pyserializer installed (see tests/lino_site.py).

Lino puts its files (media, caches, its SQLite database) beside the settings
module it is given: here ``LINOSITE_DIR``, outside the repository. The
database is ``LINOSITE_DATABASE_URL``.
"""

import os

import dj_database_url
from lino_amici.projects import amici1
from lino_amici.projects.amici1.settings import *  # noqa: F401,F403
from lino_amici.projects.amici1.settings import Site as Amici1Site


class Site(Amici1Site):
    def get_installed_plugins(self):
        yield super().get_installed_plugins()
        yield "pyserializer"

    def get_plugin_configs(self):
        yield super().get_plugin_configs()
        # amici1's demo credentials, which Lino looks for beside the settings.
        yield "google", "client_secret_file", os.path.join(
            os.path.dirname(amici1.__file__), "google_creds.json")


# Lino writes the Django settings into the dict it is given, and derives its
# directories from its __file__; the settings amici1 made for its own
# directory (imported above) are all replaced.
_settings = {"__file__": os.path.join(os.environ["LINOSITE_DIR"], "settings.py")}
SITE = Site(_settings)
globals().update((name, value) for name, value in _settings.items() if name.isupper())
DATABASES = {"default": dj_database_url.parse(os.environ["LINOSITE_DATABASE_URL"])}
