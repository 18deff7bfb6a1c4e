"""The value codec, both ways: a field's value <-> the text of a dump, and a
value as the database takes it. A new field type or a backend's quirk about
one belongs here, and nowhere else.
"""
