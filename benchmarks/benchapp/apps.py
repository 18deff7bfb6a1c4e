"""The receivers a real site has, on the benchmark's models.

A real site has receivers, and a load sends signals only to models that have
some (Django and pyserializer skip sending when ``has_listeners`` is false).
Wagtail connects one ``pre_save`` receiver to every model (sender=None,
``set_locale_on_new_instance``), and a ``post_save`` receiver to each model
its reference index tracks; search-index and cache apps add their own. Here:

- ``pre_save``, sender=None: Wagtail's kind, which returns at once on a raw
  save (a fixture load) and otherwise gives a new row a default locale;
- ``post_save`` on every generated model but three small lookup tables
  (countries and the ``Left``/``Right`` cycle): a cache-invalidation or
  search-index receiver, which queues the saved row's key for a later flush,
  raw saves included (a restored row must not be served stale). The queue is
  bounded, as one flushed in batches would be, so memory does not grow with
  the rows; no queries.

With ``PYSER_BENCH_SIGNALS`` set to a path, the process writes there at exit
how many of each signal its receivers got, so that the benchmark can say
which steps sent them.
"""

import atexit
import collections
import json
import os

from django.apps import AppConfig, apps
from django.db.models.signals import post_save, pre_save

WITHOUT_POST_SAVE = ("testapp.country", "testapp.left", "testapp.right")
QUEUE_LENGTH = 1000
DEFAULT_LOCALE_ID = 1

received = collections.Counter()
pending_keys = collections.deque(maxlen=QUEUE_LENGTH)


def set_locale_on_new_instance(sender, instance, raw=False, **kwargs):
    """Wagtail's pre_save on every model: nothing to do for a fixture, else
    a default for translatable rows."""
    received["pre_save"] += 1
    if raw:
        return
    if getattr(instance, "locale_id", False) is None:
        instance.locale_id = DEFAULT_LOCALE_ID


def queue_for_reindex(sender, instance, **kwargs):
    """A search-index or cache receiver: the row's key, for a later flush."""
    received["post_save"] += 1
    pending_keys.append((sender._meta.label_lower, instance.pk))


def write_received(path):
    with open(path, "w", encoding="utf-8") as out:
        json.dump(dict(received), out)


class BenchAppConfig(AppConfig):
    name = "benchmarks.benchapp"
    label = "benchapp"

    def ready(self):
        pre_save.connect(set_locale_on_new_instance, dispatch_uid="benchapp-pre-save")
        for model in apps.get_app_config("testapp").get_models():
            if model._meta.label_lower not in WITHOUT_POST_SAVE:
                post_save.connect(queue_for_reindex, sender=model, dispatch_uid="benchapp-post-save")
        if os.environ.get("PYSER_BENCH_SIGNALS"):
            atexit.register(write_received, os.environ["PYSER_BENCH_SIGNALS"])
