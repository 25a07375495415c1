"""The shared core: errors, configuration parsing, logging, metrics, AWS helpers and SQLite.

Every other package may import it; it imports none of them (import-linter enforces this in `make test`).
"""
