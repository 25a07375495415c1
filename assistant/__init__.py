"""Answering: retrieval, the confidence gate, answerers, tickets, email, and Slack formatting."""
