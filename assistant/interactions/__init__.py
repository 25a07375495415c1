"""The knowledge loop: every question the assistant was asked, what became of it and how it was rated, kept for a
retention period so IT can see what the knowledge base does not cover (`helpdesk report`, the weekly digest)."""
