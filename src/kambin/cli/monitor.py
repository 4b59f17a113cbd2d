"""`kambin monitor`: the operating-room monitor in the browser."""

from __future__ import annotations

from pathlib import Path

import typer

from kambin.cli.app import DISCLAIMER, app, console
from kambin.errors import InvalidInputError


@app.command()
def monitor(
    sim: bool = typer.Option(False, "--sim", help="Simulated operating room: synthetic patient, tracked scope, video."),
    plan: Path | None = typer.Option(None, "--plan", help="PLAN.json to navigate (default with --sim: planned here)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8080, "--port", help="TCP port of the page and /api/status."),
    sessions: Path = typer.Option(Path("sessions"), "--sessions", help="Where recorded sessions are written."),
    alarms: Path | None = typer.Option(
        None, "--alarms", help="JSON alarm thresholds: warn_mm and stop_mm per structure, max_registration_error_mm."
    ),
) -> None:
    """Serve the monitor page: live video with overlay, 3D view, slices, guidance and alarms."""
    if not sim:
        raise InvalidInputError(
            "live hardware (tracker and video device configuration) is not wired to the monitor yet; run with --sim"
        )
    from kambin.monitor import serve_simulated

    console.print(f"[bold]kambin monitor[/] - {DISCLAIMER}", highlight=False)
    serve_simulated(
        plan,
        host=host,
        port=port,
        sessions_dir=sessions,
        alarms_path=alarms,
        step=lambda name: console.print(f"  building {name}", highlight=False),
        ready=lambda url, seconds: console.print(f"monitor at {url} (ready in {seconds:.0f} s)", highlight=False),
    )
