"""`kambin anatomy CT [--labels LABELS] [--json]`: landmarks, Kambin's triangle, foramina, discs and
canal of a lumbar CT, with the stenosis and disc-height flags (kambin.anatomy.morphometry)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kambin.cli.app import DISCLAIMER, LEVEL_AT_HELP, app, console
from kambin.errors import InvalidInputError


def _mm(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@app.command("anatomy")
def anatomy_command(
    ct_path: Path = typer.Argument(..., metavar="CT", help="The CT (DICOM directory or file, NIfTI, NRRD, MHA)."),
    labels_path: Path | None = typer.Option(
        None, "--labels", help="Vertebra label map on the CT's grid (registry ids, or a .json sidecar beside it)."
    ),
    lowest: str | None = typer.Option(None, "--lowest", help="Segmentation hint: lowest vertebra wholly in view."),
    highest: str | None = typer.Option(None, "--highest", help="Segmentation hint: highest vertebra wholly in view."),
    level_at: list[str] = typer.Option([], "--level-at", help=LEVEL_AT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the SpineModel as one JSON object."),
) -> None:
    """Measure the lumbar spine: Kambin's triangle, foramina, discs, canal, with stenosis flags."""
    from kambin.anatomy.label_io import read_label_names
    from kambin.anatomy.spine_model import build_spine_model
    from kambin.imaging import read_volume

    if labels_path is not None and (lowest is not None or highest is not None or level_at):
        raise InvalidInputError("--lowest/--highest/--level-at are segmentation hints; they go without --labels")
    ct = read_volume(ct_path)
    if labels_path is not None:
        labels = read_volume(labels_path)
        if not labels.same_grid(ct):
            raise InvalidInputError(
                f"{labels_path}: the label map (shape {labels.shape_ijk}) is not on the CT's grid "
                f"(shape {ct.shape_ijk}); resample it onto the CT first"
            )
        names = read_label_names(labels_path)
    else:
        from kambin.anatomy.identification import parse_level_at
        from kambin.anatomy.segmentation import segment_spine

        with console.status("segmenting the vertebrae"):
            segmentation = segment_spine(
                ct, lowest=lowest, highest=highest, level_at=[parse_level_at(text) for text in level_at]
            )
        if not segmentation.named:
            raise InvalidInputError(f"the levels cannot be measured by name: {segmentation.identification}")
        labels, names = segmentation.labels, None
    with console.status("measuring"):
        model = build_spine_model(ct, labels, names)
    if as_json:
        print(model.model_dump_json())
        return
    kambin = Table(title="Kambin's triangle (mm, mm2)")
    for column in ("level", "side", "height", "base", "hypotenuse", "area", "inscribed circle"):
        kambin.add_column(column, justify="left" if column in ("level", "side") else "right")
    other = Table(title="Foramen, disc and canal (mm, mm2)")
    for column in ("level", "side", "foramen height", "foramen width", "disc height", "canal area", "flags"):
        other.add_column(column, justify="left" if column in ("level", "side", "flags") else "right")
    for level, lv in model.levels.items():
        for side in ("left", "right"):
            s = getattr(lv, side)
            k = s.kambin_triangle
            kambin.add_row(
                level,
                side,
                _mm(k.height_mm),
                _mm(k.base_mm),
                _mm(k.hypotenuse_mm),
                _mm(k.area_mm2, 0),
                _mm(k.inscribed_diameter_mm),
            )
            other.add_row(
                level,
                side,
                _mm(s.foramen.height_mm),
                _mm(s.foramen.width_mm),
                _mm(lv.disc.height_mm),
                _mm(lv.canal_area_mm2, 0),
                ", ".join(sorted(set(s.flags + lv.flags))) or "-",
            )
    console.print(f"kambin anatomy: {ct_path.name}", highlight=False)
    console.print(kambin)
    console.print(other)
    roots = [v for n, v in model.uncertainty_mm.items() if n.startswith("nerve_root_")]
    sac = model.uncertainty_mm.get("dural_sac")
    console.print(
        "Lengths in mm. Kambin's triangle is bounded by the nerve roots and dural sac estimated from the bone "
        f"(uncertainty: roots up to {_mm(max(roots) if roots else None)} mm, dural sac {_mm(sac)} mm).",
        highlight=False,
    )
    console.print(DISCLAIMER, style="dim")
