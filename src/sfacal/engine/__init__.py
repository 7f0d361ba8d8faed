"""sfacal.engine: inbox → plan → per-mailbox execution → mirror table, reconciliation, back-fill,
write-back. Huey tasks live in ``sfacal.engine.tasks``."""
