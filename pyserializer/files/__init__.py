"""What the dump and the restore share about files on disk.

The chunk grammar and its one reader, the manifest (restore.py), compression,
private and atomic files, and resealing an edited dump: a change to how a dump
looks on disk belongs here, and both sides see it.
"""
