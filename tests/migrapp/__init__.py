"""A test app with a real migration history, for restoring old dumps.

0001 creates Team and Player; 0002 renames Player.nick to nickname; 0003
splits Player.fullname into first_name and last_name (RunPython, reversible);
0004 removes Player.born and adds the required Player.status with a default;
0005 adds Note, with a foreign key to Player. models.py is the state after 0005.
"""
