"""WSGI entry point: `gunicorn app:app`."""

import gc

from aerospec import create_app

app = create_app()

# Everything built so far (modules, the app, its routes and templates) lives as long as the process:
# moved out of the collector's reach, a full collection no longer walks it on a request's time.
gc.collect()
gc.freeze()
