"""The typer application every command module registers on, and the shared consoles."""

from __future__ import annotations

from importlib.metadata import version

import typer
from rich.console import Console

DISCLAIMER = "Research and training use only; not a medical device."
LEVEL_AT_HELP = (
    "Segmentation hint X,Y,Z=NAME: the vertebra holding this point (patient LPS mm, e.g. read off a DICOM "
    "viewer) is NAME (e.g. 0,12.5,-40=L3). Obeyed exactly; may be given more than once."
)

app = typer.Typer(
    name="kambin",
    help=f"Planning, rehearsal and navigation for endoscopic spine surgery. {DISCLAIMER}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
console_error = Console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"kambin {version('kambin')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Planning, rehearsal and navigation for endoscopic spine surgery.

    Research and training use only; not a medical device.
    """
