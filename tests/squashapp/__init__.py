"""A test app that ships a squashed migration beside the migrations it replaces.

0001 creates Item(name), 0002 adds size, 0003 renames name to title;
0001_squashed_0003 replaces the three; 0004 (after the squash) adds note.
``squashed_only`` is the same history after the replaced files were deleted
(select it with MIGRATION_MODULES).
"""
