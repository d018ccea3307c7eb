"""Configuration pages: the wizard, list, detail, history."""
