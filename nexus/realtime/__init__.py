"""Live updates across processes: one PostgreSQL LISTEN connection per process feeds local subscribers.

Notifications carry ids only; subscribers read what changed from committed rows, so a
notification that was missed (a gap, a full queue) costs a re-read, never a lost update.
"""
