"""The application layer: one use case per business operation, each owning its transaction.

Entry points (``api/``, ``workers/``, ``postloanctl``) translate input and output and call one
use case; the use cases reach the engine only through the small interfaces in
:mod:`postloan.application.ports`, which ``gateway/`` implements, and owe every engine call,
webhook and notice as an outbox row written with the business change (see ``docs/architecture.md``).
"""
