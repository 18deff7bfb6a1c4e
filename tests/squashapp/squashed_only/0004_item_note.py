"""The same migration, in the history whose replaced migrations were deleted."""

from importlib import import_module

Migration = import_module("squashapp.migrations.0004_item_note").Migration
