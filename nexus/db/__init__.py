"""Persistence: engine, models, repositories, unit of work, embedded PostgreSQL."""
