"""Demo pages (checkout, merchant dashboard) served in development: see routes.py."""
