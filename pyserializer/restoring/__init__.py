"""The restore of a whole dump: plan (what the dump and the code allow), then
run the steps (empty the tables, load, migrate, report); --check, --verify,
the migration state, unmigrated apps, references between models and the hints
that end an error. ``pyserializer.restore`` is only its command line.
"""
