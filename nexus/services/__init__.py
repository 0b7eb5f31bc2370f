"""Use cases: each runs in one unit of work, calls the domain, writes events."""
