#!/usr/bin/env python
"""manage.py of the Wagtail test site, for trying it by hand::

    WAGTAILSITE_DATABASE_URL=sqlite:////tmp/site.sqlite3 python tests/wagtailsite/manage.py build_site
"""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wagtailsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
