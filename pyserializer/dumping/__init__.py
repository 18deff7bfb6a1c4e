"""The dump: which models and rows (wholesite, ordering), read how (rows,
snapshot, parallel), encoded by the codec and written by the writers into an
output directory. The serializer drives it, with its options in one object.
"""
