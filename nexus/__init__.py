"""Nexus Gateway: a small payment gateway with one GraphQL API."""

__version__ = "0.1.0"
