"""Pure domain rules of Nexus Gateway: no I/O, no framework, stdlib only.

Money and currencies, the payment-intent state machine, the bank simulator,
idempotency decisions, card checks, event shapes and the error tree. The
service layer calls these; the import rule is enforced by
``tests/unit/test_domain_imports.py``.
"""
