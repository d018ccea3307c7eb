"""`flask engine predict`: the engine's own command line (aerospec/engine/cli.py), reached through flask.

Every flag, the batch mode (`--input FILE`) and the exit status are the engine CLI's: this command
passes its arguments through unchanged. `python -m aerospec.engine predict ...` runs the same code
without building the app, so it starts several times faster.
"""

from __future__ import annotations

import click


@click.group("engine")
def engine_cli() -> None:
    """Spray prediction engine."""


@engine_cli.command(
    "predict",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.pass_context
def predict_command(ctx: click.Context) -> None:
    """Predict flow, cone angle and drop sizes with their bands, as JSON (--help lists the flags)."""
    from aerospec.engine.cli import main

    ctx.exit(main(["predict", *ctx.args], prog="flask engine"))
