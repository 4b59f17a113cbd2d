"""`kambin plan`: the safest endoscopic path at one level and side, from a CT and a label map."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kambin.cli.app import DISCLAIMER, LEVEL_AT_HELP, app, console
from kambin.errors import InvalidInputError


@app.command("plan")
def plan_command(
    ct_path: Path = typer.Argument(..., metavar="CT", help="The CT (DICOM directory or file, NIfTI, NRRD, MHA)."),
    level: str = typer.Option(..., "--level", help="Motion segment, e.g. L4-L5."),
    side: str = typer.Option(..., "--side", help="left or right."),
    output: Path = typer.Option(..., "-o", "--output", help="PLAN.json to write."),
    labels_path: Path | None = typer.Option(
        None,
        "--labels",
        help="Label map on the CT's grid (registry ids, or a .json sidecar beside it). Default: segment the CT. "
        "Nerve roots and dural sac are estimated from the bone unless the map has them.",
    ),
    lowest: str | None = typer.Option(None, "--lowest", help="Segmentation hint: lowest vertebra wholly in view."),
    highest: str | None = typer.Option(None, "--highest", help="Segmentation hint: highest vertebra wholly in view."),
    level_at: list[str] = typer.Option([], "--level-at", help=LEVEL_AT_HELP),
    approach: str = typer.Option("auto", "--approach", help="auto, transforaminal or interlaminar."),
    cannula_mm: float = typer.Option(7.0, "--cannula-mm", help="Working cannula outer diameter in mm."),
    target: tuple[float, float, float] | None = typer.Option(None, "--target", help="Target X Y Z in LPS mm."),
    slicer: Path | None = typer.Option(None, "--slicer", help="Also write a 3D Slicer markups line (.mrk.json)."),
    report: Path | None = typer.Option(None, "--report", help="Also write the HTML report (pictures embedded)."),
    resolution_deg: float = typer.Option(0.5, "--resolution", help="Angular resolution of the search, degrees."),
) -> None:
    """Plan the safest path through Kambin's triangle (or the interlaminar window), with its reasons."""
    from pydantic import ValidationError

    from kambin.anatomy.identification import parse_level_at
    from kambin.anatomy.label_io import read_label_names
    from kambin.imaging import read_volume
    from kambin.planning.export import slicer_markups, write_json
    from kambin.planning.models import PlanRequest
    from kambin.planning.plan_file import write_plan
    from kambin.planning.planner import plan
    from kambin.workflows.plan_ct import planning_anatomy

    try:
        request = PlanRequest(
            level=level,
            side=side,
            approach=approach,
            cannula_diameter_mm=cannula_mm,
            target_lps_mm=target,
            resolution_deg=resolution_deg,
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInputError(
            f"{'.'.join(map(str, first['loc']))}: {first['msg'].removeprefix('Value error, ')}"
        ) from None
    for path in (output, slicer, report):
        if path is not None and not path.parent.is_dir():
            raise InvalidInputError(f"{path.parent}: output directory does not exist")
    ct = read_volume(ct_path)
    labels = read_volume(labels_path) if labels_path is not None else None
    if labels is not None and not labels.same_grid(ct):
        raise InvalidInputError(f"{labels_path}: the label map is not on the CT's grid; resample it onto the CT first")
    given_uncertainty = _uncertainty_beside(labels_path, ct) if labels_path is not None else None
    with console.status("anatomy: segmentation and estimates" if labels is None else "anatomy: estimates"):
        anatomy = planning_anatomy(
            ct,
            labels,
            read_label_names(labels_path) if labels_path is not None else None,
            lowest,
            highest,
            [parse_level_at(text) for text in level_at],
        )
    if given_uncertainty is not None:
        from dataclasses import replace

        anatomy = replace(anatomy, uncertainty=given_uncertainty)
    with console.status("planning"):
        result = plan(ct, anatomy.labels, request, anatomy.names, anatomy.uncertainty)
    # The anatomy planned on (segmented and estimated) is written beside the plan, so that the plan can be
    # reported, checked and re-planned from the same label map.
    anatomy_path = None
    if anatomy.labels is not labels:
        stem = output.name[: -len(".json")] if output.name.endswith(".json") else output.name
        anatomy_path = output.with_name(f"{stem}.anatomy.nii.gz")
    result = result.model_copy(
        update={
            "inputs": {
                "ct": str(ct_path.absolute()),
                "labels": str((anatomy_path or labels_path).absolute()),
                "anatomy": "; ".join(anatomy.notes),
            }
        }
    )
    labels = anatomy.labels
    markups = slicer_markups(result) if slicer is not None and result.feasible else None
    html = None
    if report is not None:
        from kambin.report import build_report

        with console.status("rendering the report"):
            html = build_report(result, ct, labels)
    if anatomy_path is not None:
        from kambin.anatomy.label_io import write_label_map
        from kambin.imaging import write_volume

        write_label_map(labels, anatomy.names, anatomy_path)
        if anatomy.uncertainty is not None:
            write_volume(anatomy.uncertainty, _uncertainty_path(anatomy_path))
    write_plan(result, output)
    if markups is not None:
        write_json(markups, slicer)
    if html is not None:
        from kambin.atomic import write_text_atomic

        write_text_atomic(report, html)
    table = Table(title=f"kambin plan {level} {side} ({DISCLAIMER})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("feasible", "yes" if result.feasible else "[red]no[/]")
    if result.feasible:
        table.add_row("approach", result.approach)
        table.add_row("entry from midline", f"{result.entry_offset_from_midline_mm / 10:.1f} cm")
        table.add_row("depth", f"{result.depth_mm / 10:.1f} cm")
        table.add_row(
            "angles", f"{result.axial_angle_deg:.1f} deg axial, {result.sagittal_angle_deg:+.1f} deg cranio-caudal"
        )
        for name, clearance in result.clearances_mm.items():
            table.add_row(
                f"clearance {name.replace('_', ' ')}", f"{clearance.clearance_mm:.1f} mm (limit {clearance.limit_mm:g})"
            )
        table.add_row("foraminoplasty", f"{result.foraminoplasty_mm3:.0f} mm3")
    else:
        shown, approach, label = result.shown_path()
        if shown is not None:
            broken = [name.replace("_", " ") for name, _ in shown.broken_limits()]
            table.add_row(
                f"[red]{label.strip()}[/] path",
                f"{approach}, {shown.entry_offset_from_midline_mm / 10:.1f} cm from the midline, "
                f"{shown.axial_angle_deg:.1f} deg axial, {shown.sagittal_angle_deg:+.1f} deg cranio-caudal"
                + (f"; breaks the limit to: {', '.join(broken)}" if broken else "; keeps the nominal limits"),
            )
    for reason in result.reasons:
        table.add_row("reason", reason)
    console.print(table)
    written = [
        str(p)
        for p, made in (
            (output, True),
            (anatomy_path, anatomy_path is not None),
            (slicer, markups is not None),
            (report, html is not None),
        )
        if made
    ]
    console.print(f"wrote {', '.join(written)}", highlight=False)
    if slicer is not None and markups is None:
        console.print("no markups written: the plan has no safe path", highlight=False)


ANATOMY_SUFFIX = ".anatomy.nii.gz"


def _uncertainty_path(anatomy_path: Path) -> Path:
    """Where the estimates' uncertainty (mm per voxel) of PLAN.anatomy.nii.gz is: PLAN.uncertainty.nii.gz."""
    return anatomy_path.with_name(anatomy_path.name[: -len(ANATOMY_SUFFIX)] + ".uncertainty.nii.gz")


def _uncertainty_beside(labels_path: Path, ct):
    """The uncertainty map written beside an anatomy label map by an earlier `kambin plan`, if any:
    planning again from those labels keeps their estimates' uncertainty."""
    if not labels_path.name.endswith(ANATOMY_SUFFIX) or not _uncertainty_path(labels_path).is_file():
        return None
    from kambin.imaging import read_volume

    path = _uncertainty_path(labels_path)
    uncertainty = read_volume(path)
    if not uncertainty.same_grid(ct):
        raise InvalidInputError(f"{path}: the uncertainty map is not on the CT's grid; plan from the CT again")
    return uncertainty
