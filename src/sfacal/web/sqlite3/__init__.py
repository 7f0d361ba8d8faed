"""The SQLite database backend of the embedded product (see :mod:`.base`)."""
