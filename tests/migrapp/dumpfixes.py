"""Row transforms (PYSERIALIZER_TRANSFORMS) for dumps taken at migration 0001,
to load them with plain loaddata into the current models."""


def player_from_0001(label, row):
    """Rename nick, split fullname, drop born: what migrations 0002-0004 do."""
    row["nickname"] = row.pop("nick")
    row["first_name"], _, row["last_name"] = row.pop("fullname").partition(" ")
    del row["born"]
    yield label, row
