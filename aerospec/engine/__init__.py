"""Spray prediction and ranking: pure Python + numpy (no Flask, no database)."""
