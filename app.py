"""WSGI entry point: `gunicorn app:app`; the `flask` command line loads it too (FLASK_APP=app.py)."""

import gc
import os
import sys

from aerospec.cli import engine_command_app, runs_engine_command_only

if runs_engine_command_only(sys.argv, os.environ):
    # `flask engine ...` runs the engine alone: building the whole app would cost it seconds.
    app = engine_command_app()
else:
    from aerospec import create_app

    app = create_app()

    # Everything built so far (modules, the app, its routes and templates) lives as long as the process:
    # moved out of the collector's reach, a full collection no longer walks it on a request's time.
    gc.collect()
    gc.freeze()
