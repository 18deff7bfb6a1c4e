"""What to tell a user whose restore stopped on one model's rows.

A model that the target backend rejects (a search index table made for
another backend) or that the code does not have can be left out of a
restore; data that an app rebuilds from the other tables (a search index)
can be rebuilt after it.
"""

from django.conf import settings

from ..errors import DumpError, Kind

# {app label: the command that rebuilds its data}; PYSERIALIZER_REBUILDABLE adds to it.
REBUILDABLE = {
    "wagtailsearch": "python manage.py update_index",
    "watson": "python manage.py buildwatson",
    "haystack": "python manage.py rebuild_index",
}


# The kinds of DumpError that a restore without the error's model gets past.
LEAVING_OUT_HELPS = frozenset({Kind.UNKNOWN_MODEL, Kind.ROW_REJECTED})


def rebuildable_apps() -> dict[str, str]:
    return {**REBUILDABLE, **getattr(settings, "PYSERIALIZER_REBUILDABLE", {})}


def leave_out(label: str, manifest_path: str | None = None) -> str:
    """How to restore without the rows of model ``label``."""
    app_label = label.partition(".")[0]
    how = (
        "To restore without it, leave it out: python %s -e %s (or manage.py restore_dump "
        "%s -e %s)" % (manifest_path, label, manifest_path, label)
        if manifest_path else
        "To load without it, leave it out with -e %s (loaddata -e, restore.py -e, "
        "restore_dump -e; for a model the code does not have, loaddata --ignorenonexistent)"
        % label
    )
    rebuild = rebuildable_apps().get(app_label)
    if rebuild:
        how += "; its data can be rebuilt after the restore with %s" % rebuild
    return how + "."


def with_restore_hint(error: DumpError, manifest_path: str) -> DumpError:
    """``error`` (a DumpError) with how to leave its model out, when that gets
    past it: the model is unknown, or the database rejected its rows."""
    if error.model and not error.advised and error.kind in LEAVING_OUT_HELPS:
        error.advise(leave_out(error.model, manifest_path))
    return error
