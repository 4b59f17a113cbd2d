"""The `kambin` command line: thin commands that parse arguments and call one package function.

Each command module registers itself on `app` (kambin.cli.app); `main` runs the app and turns
kambin's own errors into one line on stderr and a non-zero exit, with no traceback.
"""

from __future__ import annotations

import importlib
import sys

from kambin.cli.app import app, console_error
from kambin.errors import KambinError

# Command modules, imported for their registrations on `app`.
COMMAND_MODULES = (
    "kambin.cli.basic",
    "kambin.cli.phantom",
    "kambin.cli.segment",
    "kambin.cli.anatomy",
    "kambin.cli.plan",
    "kambin.cli.report",
    "kambin.cli.render",
    "kambin.cli.calibrate",
    "kambin.cli.register",
    "kambin.cli.demo",
    "kambin.cli.monitor",
    "kambin.cli.replay",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit: 0 on success, 1 for a kambin error (one line on stderr), 2 for usage."""
    try:
        app(args=argv, prog_name="kambin")
    except KambinError as error:
        console_error.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console_error.print("interrupted")
        sys.exit(130)
