"""WSGI entry point: `gunicorn app:app`."""

from aerospec import create_app

app = create_app()
