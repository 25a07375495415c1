"""The base of every error the project raises on purpose.

Each package (`ingest`, `index_store`, `assistant`) has its own `exceptions.py` whose base error derives from
`HelpdeskError`, so entry points can turn any of them into a one-line message without a traceback.
"""


class HelpdeskError(Exception):
    """An expected failure with a message fit for a person (no traceback needed)."""

    exit_code: int = 1


class ConfigError(HelpdeskError):
    """A setting has a value we cannot use (exit code 2). Each package's `config.py` raises it."""

    exit_code = 2
