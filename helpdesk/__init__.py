"""Glue shared by every entry point: settings, the one place that picks implementations, the CLI."""
