"""API routes (built out in the API step)."""
