"""Repositories: all SQL lives here; they take and return domain objects or plain records."""
