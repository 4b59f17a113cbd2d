"""`kambin demo`: the main job on the built-in synthetic patient, with progress and a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kambin.cli.app import DISCLAIMER, app, console


@app.command("demo")
def demo_command(
    output: Path = typer.Option(Path("demo-output"), "-o", "--output", help="New or empty output directory."),
) -> None:
    """Build a synthetic patient, segment it, plan the safest path and render the rehearsal views."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from kambin.workflows.demo import STAGES, run_demo

    columns = (TextColumn("{task.description:<20}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("starting", total=len(STAGES))

        def step(name: str) -> None:
            started = STAGES.index(name)
            progress.update(task, description=name, completed=started)

        result = run_demo(output, step=step)
        progress.update(task, description="done", completed=len(STAGES))
    table = Table(title=f"kambin demo ({DISCLAIMER})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in result.facts:
        table.add_row(key, value)
    for key, seconds in result.seconds.items():
        table.add_row(f"time: {key}", f"{seconds:.1f} s")
    console.print(table)
    files = Table(title="files", show_header=False)
    for key, path in result.files.items():
        files.add_row(key, str(path))
    console.print(files)
    if "report" in result.files:
        console.print(f"report: {result.files['report']}", highlight=False)
