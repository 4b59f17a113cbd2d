"""`kambin report PLAN.json`: the plan report as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import typer

from kambin.cli.app import app, console
from kambin.errors import InvalidInputError


@app.command("report")
def report_command(
    plan_path: Path = typer.Argument(..., metavar="PLAN.json", help="A plan written by `kambin plan`."),
    output: Path = typer.Option(..., "-o", "--output", help="REPORT.html to write."),
    ct_path: Path | None = typer.Option(None, "--ct", help="The CT planned on (default: the plan's inputs.ct)."),
    labels_path: Path | None = typer.Option(
        None, "--labels", help="Its label map (default: the plan's inputs.labels)."
    ),
) -> None:
    """Write the HTML report of a plan: numbers, clearances and risks, 3D views, slices, fluoroscopy, endoscope."""

    from kambin.atomic import write_text_atomic
    from kambin.imaging import read_volume
    from kambin.planning.plan_file import read_plan
    from kambin.report import build_report

    plan = read_plan(plan_path)
    if not output.parent.is_dir():
        raise InvalidInputError(f"{output.parent}: output directory does not exist")
    ct_path = ct_path or (Path(plan.inputs["ct"]) if "ct" in plan.inputs else None)
    labels_path = labels_path or (Path(plan.inputs["labels"]) if "labels" in plan.inputs else None)
    if ct_path is None or labels_path is None:
        raise InvalidInputError(f"{plan_path} does not name its CT and label map; pass --ct and --labels")
    ct, labels = read_volume(ct_path), read_volume(labels_path)
    with console.status("rendering the report"):
        html = build_report(plan, ct, labels)
    console.print(f"wrote {write_text_atomic(output, html)}", highlight=False)
