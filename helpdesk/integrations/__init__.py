"""Integrations of the published index with other frameworks (optional extras; never imported by a Lambda)."""
