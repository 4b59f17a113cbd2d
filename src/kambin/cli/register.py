"""`kambin register points`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from kambin.cli.app import DISCLAIMER, app, console
from kambin.registration import fle_from_fre, predicted_tre_mm, register_paired_points
from kambin.registration.io import read_points
from kambin.registration.registration_file import registration_file_fields

register_app = typer.Typer(help="Register the patient to the CT.", no_args_is_help=True)
app.add_typer(register_app, name="register")


@register_app.command("points")
def points_command(
    fixed: Path = typer.Argument(..., help="Fixed points (e.g. fiducials in CT), one 'x y z' per line."),
    moving: Path = typer.Argument(..., help="Moving points in the same order (e.g. touched with the pointer)."),
    target: tuple[float, float, float] | None = typer.Option(
        None, "--target", help="Target X Y Z in the fixed frame: predicts TRE there."
    ),
    fle: float | None = typer.Option(
        None, "--fle", help="RMS fiducial localisation error (mm); default: estimated from FRE."
    ),
    max_fre: float = typer.Option(5.0, "--max-fre", help="Refuse a registration whose RMS FRE exceeds this (mm)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Paired-point rigid registration (Arun/Horn/Umeyama), FRE, and predicted TRE (Fitzpatrick 1998)."""
    fixed_points, moving_points = read_points(fixed), read_points(moving)
    result = register_paired_points(fixed_points, moving_points, max_fre_mm=max_fre)
    n = len(fixed_points)
    fle_mm = fle if fle is not None else fle_from_fre(result.fre_mm, n)
    tre = None if target is None else float(predicted_tre_mm(fixed_points, np.array(target), fle_mm))
    if as_json:
        print(
            json.dumps(
                registration_file_fields(
                    result.moving_to_fixed,
                    result.fre_mm,
                    tre,
                    residuals_mm=result.residuals_mm.tolist(),
                    fle_mm=fle_mm,
                    fle_source="given" if fle is not None else "estimated from FRE",
                    target_in_fixed_mm=None if target is None else list(target),
                    n_points=n,
                ),
                indent=2,
            )
        )
        return
    table = Table(title="paired-point registration (moving_to_fixed)", show_header=False, caption=DISCLAIMER)
    table.add_row("moving_to_fixed", "\n".join(" ".join(f"{v:+.6f}" for v in row) for row in result.moving_to_fixed))
    table.add_row("FRE RMS (mm)", f"{result.fre_mm:.3f}")
    table.add_row("residuals (mm)", " ".join(f"{v:.2f}" for v in result.residuals_mm))
    if tre is not None:
        table.add_row("predicted TRE at target (mm)", f"{tre:.3f} (FLE {fle_mm:.3f} mm)")
    console.print(table)
