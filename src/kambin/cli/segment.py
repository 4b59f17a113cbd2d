"""`kambin segment CT -o LABELS.nii.gz`: vertebra segmentation and naming, or import of a label map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from kambin.anatomy.external import segment_with_totalsegmentator, totalsegmentator_missing
from kambin.anatomy.identification import parse_level_at
from kambin.anatomy.label_import import SCHEMES, import_label_map
from kambin.anatomy.labels import label_by_id
from kambin.anatomy.segmentation import SpineSegmentation, segment_spine, write_segmentation
from kambin.cli.app import DISCLAIMER, LEVEL_AT_HELP, app, console
from kambin.errors import InvalidInputError
from kambin.imaging.io import read_volume
from kambin.report.level_check import write_level_check_png

ENGINES = ("classical", "totalsegmentator")


def level_picture_path(labels_path: Path) -> Path:
    """LABELS.levels.png beside LABELS.nii.gz (or .nrrd, .mha): the picture to check the levels on."""
    name = labels_path.name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return labels_path.with_name(f"{name}.levels.png")


@app.command("segment")
def segment_command(
    ct_path: Path = typer.Argument(..., help="CT: DICOM directory, NIfTI, NRRD or MHA."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Label map to write (.nii.gz); a .json sidecar goes next to it."
    ),
    lowest: str | None = typer.Option(
        None, "--lowest", help="Name of the lowest vertebra in view, at least three quarters of it (e.g. L5)."
    ),
    highest: str | None = typer.Option(
        None, "--highest", help="Name of the highest vertebra in view, at least three quarters of it (e.g. T12)."
    ),
    level_at: list[str] = typer.Option([], "--level-at", help=LEVEL_AT_HELP),
    labels_from: Path | None = typer.Option(None, "--labels-from", help="Import this label map instead of segmenting."),
    label_scheme: str | None = typer.Option(
        None, "--label-scheme", help=f"Ids of --labels-from: {', '.join(SCHEMES)}."
    ),
    engine: str = typer.Option("classical", "--engine", help=f"Segmentation engine: {', '.join(ENGINES)}."),
    fast: bool = typer.Option(False, "--fast", help="With --engine totalsegmentator: its faster 3 mm model."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Segment and name the vertebrae of a lumbar CT (no download, CPU), or import a label map.

    Beside the labels it writes LABELS.levels.png, a sagittal and a coronal view with each level's
    name on its body: check the count against it before using the labels."""
    if engine not in ENGINES:
        raise InvalidInputError(f"--engine must be one of {ENGINES}, not {engine!r}")
    if (labels_from is None) != (label_scheme is None):
        raise InvalidInputError("--labels-from and --label-scheme go together (e.g. --label-scheme totalsegmentator)")
    if engine == "totalsegmentator" and labels_from is not None:
        raise InvalidInputError("--engine totalsegmentator and --labels-from exclude each other; give one")
    if engine == "totalsegmentator" and (missing := totalsegmentator_missing()):
        raise InvalidInputError(f"--engine totalsegmentator needs {missing}; use the default engine or --labels-from")
    ct = read_volume(ct_path)
    if labels_from is not None or engine == "totalsegmentator":
        if labels_from is not None:
            labels = import_label_map(labels_from, label_scheme, ct)
            how = f"imported ({label_scheme})"
        else:
            labels = segment_with_totalsegmentator(ct, fast=fast)
            how = "TotalSegmentator (total task)"
        ids = sorted((int(i) for i in np.unique(labels.voxels) if i != 0), reverse=True)  # cranial first
        names = [label_by_id(i).name.removeprefix("vertebrae_") for i in ids]
        result = SpineSegmentation(
            labels=labels,
            vertebrae=names,
            identification=how,
            confidence=1.0,
            warnings=list(labels.warnings),
        )
    else:
        result = segment_spine(ct, lowest=lowest, highest=highest, level_at=[parse_level_at(t) for t in level_at])
    # The picture first: it is the step that can still refuse (no vertebra label), and then nothing is written.
    picture_path = write_level_check_png(ct, result.labels, result.identification, level_picture_path(output))
    labels_path, json_path = write_segmentation(result, output)
    summary = {
        "labels": str(labels_path),
        "sidecar": str(json_path),
        "vertebrae": result.vertebrae,
        "pelvis": result.pelvis,
        "implants": result.implants,
        "levels_picture": str(picture_path),
        "named": result.named,
        "identification": result.identification,
        "confidence": result.confidence,
        "warnings": result.warnings,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    if not result.named:
        console.print(
            f"[bold red]levels NOT named[/]: {result.identification.removeprefix('not named: ')}", highlight=False
        )
    console.print(f"vertebrae: {' '.join(result.vertebrae)}", highlight=False)
    if result.pelvis:
        console.print(f"pelvis: {' '.join(result.pelvis)}", highlight=False)
    if result.implants:
        console.print("metal (screws, rods) labelled as metal, id 249", highlight=False)
    if result.named:
        console.print(f"named by: {result.identification} (confidence {result.confidence:.2f})", highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"wrote {labels_path} and {json_path}", highlight=False)
    console.print(f"check the level count against {picture_path}", highlight=False)
    console.print(DISCLAIMER, style="dim")
