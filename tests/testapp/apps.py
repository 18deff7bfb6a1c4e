import os
import time

from django.apps import AppConfig
from django.db.models.signals import pre_save


class TestappConfig(AppConfig):
    name = "testapp"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        # tests/test_voice.py: hold a restore in the middle of its load, to stop it there.
        marker = os.environ.get("TESTAPP_PAUSE_LOADING_AT")
        if marker:
            pre_save.connect(PauseOnce(marker), sender="testapp.Person", weak=False)


class PauseOnce:
    """On the first Person saved: create ``marker``, then wait for a signal."""

    def __init__(self, marker):
        self.marker = marker

    def __call__(self, **kwargs):
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            time.sleep(120)
