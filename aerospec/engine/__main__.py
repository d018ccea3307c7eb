"""`python -m aerospec.engine predict ...`: see aerospec/engine/cli.py."""

import sys

from aerospec.engine.cli import main

sys.exit(main())
