"""`kambin segment CT -o LABELS.nii.gz`: vertebra segmentation and naming, or import of a label map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from kambin.anatomy.external import segment_with_totalsegmentator, totalsegmentator_missing
from kambin.anatomy.label_import import SCHEMES, import_label_map
from kambin.anatomy.labels import label_by_id
from kambin.anatomy.segmentation import SpineSegmentation, segment_spine, write_segmentation
from kambin.cli.app import DISCLAIMER, app, console
from kambin.errors import InvalidInputError
from kambin.imaging.io import read_volume

ENGINES = ("classical", "totalsegmentator")


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
    labels_from: Path | None = typer.Option(None, "--labels-from", help="Import this label map instead of segmenting."),
    label_scheme: str | None = typer.Option(
        None, "--label-scheme", help=f"Ids of --labels-from: {', '.join(SCHEMES)}."
    ),
    engine: str = typer.Option("classical", "--engine", help=f"Segmentation engine: {', '.join(ENGINES)}."),
    fast: bool = typer.Option(False, "--fast", help="With --engine totalsegmentator: its faster 3 mm model."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Segment and name the vertebrae of a lumbar CT (no download, CPU), or import a label map."""
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
        result = segment_spine(ct, lowest=lowest, highest=highest)
    labels_path, json_path = write_segmentation(result, output)
    summary = {
        "labels": str(labels_path),
        "sidecar": str(json_path),
        "vertebrae": result.vertebrae,
        "pelvis": result.pelvis,
        "identification": result.identification,
        "confidence": result.confidence,
        "warnings": result.warnings,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    console.print(f"vertebrae: {' '.join(result.vertebrae)}", highlight=False)
    if result.pelvis:
        console.print(f"pelvis: {' '.join(result.pelvis)}", highlight=False)
    console.print(f"named by: {result.identification} (confidence {result.confidence:.2f})", highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"wrote {labels_path} and {json_path}", highlight=False)
    console.print(DISCLAIMER, style="dim")
