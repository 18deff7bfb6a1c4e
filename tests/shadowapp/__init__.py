"""A test app of models that could hide rows from a dump or clash with its names:
a base manager that filters, and fields and a table named like what the dump
adds to queries and directories."""
