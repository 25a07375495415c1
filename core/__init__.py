"""The shared core: errors, configuration parsing, logging, metrics, AWS helpers and SQLite.

Every other package may import it; it imports none of them (tests/unit/test_layers.py enforces this in `make test`).
"""
