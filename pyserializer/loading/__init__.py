"""Loading rows read from a dump: the deserializer turns checked chunk blocks
into objects (with row transforms applied), and saving writes them in batches.
Both ``loaddata`` and the restore load through here.
"""
