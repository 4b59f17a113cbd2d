"""`kambin calibrate pivot` and `kambin calibrate camera`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from kambin.calibration import Board, calibrate_camera_from_images, pivot_calibration, robust_pivot_calibration
from kambin.cli.app import DISCLAIMER, app, console
from kambin.errors import InvalidInputError
from kambin.geometry.transforms import invert
from kambin.registration.io import read_poses
from kambin.tracking.plus import read_plus_sequence

calibrate_app = typer.Typer(
    help="Calibrate tools and cameras: pointer tip (pivot), camera intrinsics.", no_args_is_help=True
)
app.add_typer(calibrate_app, name="calibrate")


def _plus_poses(path: Path, tool: str, reference: str | None) -> np.ndarray:
    sequence = read_plus_sequence(path)
    names = sequence.transform_names()

    def pick(name: str) -> str:
        if name in names:
            return name
        matches = [n for n in names if n.lower().startswith(name.lower() + "to")]
        if len(matches) != 1:
            raise InvalidInputError(
                f"--tool/--reference {name!r} matches {len(matches)} transforms; the file has: {', '.join(names)}"
            )
        return matches[0]

    _, tool_poses, tool_status = sequence.transforms(pick(tool))
    ok = np.array([s.upper() == "OK" for s in tool_status])
    if reference is not None:
        _, ref_poses, ref_status = sequence.transforms(pick(reference))
        ok &= np.array([s.upper() == "OK" for s in ref_status])
        tool_poses = np.array([invert(r) @ t for r, t in zip(ref_poses, tool_poses, strict=True)])
    return tool_poses[ok]


@calibrate_app.command("pivot")
def pivot_command(
    path: Path = typer.Argument(
        ..., help="Poses: a text file with one row-major 4x4 per line, or a PLUS .igs.mha sequence."
    ),
    tool: str | None = typer.Option(
        None, "--tool", help="PLUS sequence only: the tool transform (StylusToTracker or Stylus)."
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="PLUS only: express poses relative to this tool (e.g. Reference)."
    ),
    robust: bool = typer.Option(
        False, "--robust", help="Iteratively reweighted least squares (Tukey), ignoring outlier poses."
    ),
    max_rms: float | None = typer.Option(
        None, "--max-rms", help="Refuse a result whose RMS residual exceeds this (mm)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Pivot calibration: the pointer tip in the pointer's frame (Yaniv 2015 algebraic least squares)."""
    if path.name.endswith(".mha"):
        if tool is None:
            raise InvalidInputError("a PLUS sequence holds several tools: name one with --tool (e.g. --tool Stylus)")
        poses = _plus_poses(path, tool, reference)
    else:
        if tool is not None or reference is not None:
            raise InvalidInputError("--tool and --reference apply to PLUS sequences (.igs.mha) only")
        poses = read_poses(path)
    result = (robust_pivot_calibration if robust else pivot_calibration)(poses, max_rms_mm=max_rms)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    table = Table(title=f"pivot calibration: {path.name}", show_header=False, caption=DISCLAIMER)
    table.add_row("tip in tool (mm)", " ".join(f"{v:.3f}" for v in result.tip_in_pointer_mm))
    table.add_row("pivot in tracker (mm)", " ".join(f"{v:.3f}" for v in result.pivot_in_tracker_mm))
    table.add_row("RMS residual (mm)", f"{result.rms_mm:.3f} (3D: {result.rms_3d_mm:.3f})")
    table.add_row("poses used", f"{int(result.inliers.sum())} of {len(result.inliers)}")
    console.print(table)


@calibrate_app.command("camera")
def camera_command(
    images: list[Path] = typer.Argument(..., help="Images of the board (at least 3 where it is found)."),
    board: str = typer.Option(
        ..., "--board", help="chessboard:COLSxROWS:MM (inner corners) or charuco:COLSxROWS:SQ_MM:MARKER_MM[:DICT]."
    ),
    max_rms: float | None = typer.Option(
        None, "--max-rms", help="Refuse a result whose RMS reprojection error exceeds this (px)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Camera intrinsics and distortion from board images (Zhang 2000, OpenCV)."""
    result, used = calibrate_camera_from_images(images, Board.parse(board), max_rms_px=max_rms)
    if as_json:
        out = result.as_dict()
        out["images_used"] = [str(p) for p in used]
        print(json.dumps(out, indent=2))
        return
    k = result.camera_matrix
    table = Table(
        title=f"camera calibration ({len(used)} of {len(images)} images)", show_header=False, caption=DISCLAIMER
    )
    table.add_row("RMS reprojection (px)", f"{result.rms_px:.4f}")
    table.add_row("fx, fy (px)", f"{k[0, 0]:.2f}, {k[1, 1]:.2f}")
    table.add_row("cx, cy (px)", f"{k[0, 2]:.2f}, {k[1, 2]:.2f}")
    table.add_row("distortion", " ".join(f"{v:.5f}" for v in result.distortion))
    console.print(table)
