"""RQ job entry points: thin wrappers that call capability services and commit."""
