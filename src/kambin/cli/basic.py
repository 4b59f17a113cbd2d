"""`kambin labels` and `kambin info`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from kambin.anatomy.labels import LABELS
from kambin.cli.app import app, console
from kambin.imaging import read_volume
from kambin.imaging.info import volume_info


@app.command("labels")
def labels_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object id -> name."),
) -> None:
    """List every anatomical label kambin knows (TotalSegmentator names where they exist)."""
    if as_json:
        print(json.dumps({str(label.id): label.name for label in LABELS}, indent=2))
        return
    table = Table(title="kambin label registry")
    for column in ("id", "name", "category", "description"):
        table.add_column(column)
    for label in LABELS:
        table.add_row(str(label.id), label.name, label.category, label.description)
    console.print(table)


@app.command("info")
def info_command(
    path: Path = typer.Argument(..., help="A DICOM directory or file, or a .nii/.nii.gz/.nrrd/.mha volume."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    series: str | None = typer.Option(None, "--series", help="DICOM SeriesInstanceUID to read."),
) -> None:
    """Describe a volume: grid, geometry in LPS mm, modality, HU range, and warnings."""
    volume = read_volume(path, series_uid=series)
    info = volume_info(volume, path)
    if as_json:
        print(json.dumps(info, indent=2))
        return
    table = Table(title=str(path), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("shape (i, j, k)", " x ".join(map(str, info["shape_ijk"])))
    table.add_row("spacing (mm)", ", ".join(f"{s:.4g}" for s in info["spacing_mm"]))
    table.add_row("origin (LPS mm)", ", ".join(f"{o:.2f}" for o in info["origin_lps_mm"]))
    table.add_row("direction (LPS)", "\n".join(" ".join(f"{v:+.3f}" for v in row) for row in info["direction_lps"]))
    table.add_row("modality", info["modality"])
    table.add_row("value range", f"{info['hu_min']:g} to {info['hu_max']:g}")
    extent = np.asarray(info["shape_ijk"]) * np.asarray(info["spacing_mm"])
    table.add_row("extent (mm)", " x ".join(f"{e:.1f}" for e in extent))
    for warning in info["warnings"]:
        table.add_row("[yellow]warning[/]", warning)
    console.print(table)
