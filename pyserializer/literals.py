"""The few names a dump file uses besides Python literals.

Dump files write JSON's spellings of null, booleans and non-finite floats so
that the loader can parse every row with the C JSON parser. Importing these
names makes the same files meaningful Python too; the loader never imports or
runs a dump, it only parses it.
"""

null = None
true = True
false = False
NaN = float("nan")
Infinity = float("inf")

