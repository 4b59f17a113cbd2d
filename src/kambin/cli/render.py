"""`kambin render drr|endoscope|flythrough`: simulated fluoroscopy and the virtual endoscope."""

from __future__ import annotations

from pathlib import Path

import typer

from kambin.cli.app import app, console
from kambin.errors import InvalidInputError
from kambin.imaging import Volume, read_volume
from kambin.planning.plan_file import PlannedPath, read_planned_path

render_app = typer.Typer(
    help="Render simulated fluoroscopy (DRR) and the virtual endoscope from a CT.",
    no_args_is_help=True,
)
app.add_typer(render_app, name="render")

LABELS_BESIDE_CT = "labels.nii.gz"


def _path_from_options(
    plan: Path | None, entry: tuple[float, float, float] | None, target: tuple[float, float, float] | None
) -> PlannedPath | None:
    if plan is not None:
        if entry is not None or target is not None:
            raise InvalidInputError("give either --plan or --entry/--target, not both")
        return read_planned_path(plan)
    if (entry is None) != (target is None):
        raise InvalidInputError("--entry and --target go together (LPS mm, 3 numbers each)")
    if entry is None:
        return None
    return PlannedPath(entry_lps_mm=entry, target_lps_mm=target)


def _labels_for(ct_path: Path, labels: Path | None) -> Volume | None:
    if labels is not None:
        return read_volume(labels)
    beside = (ct_path if ct_path.is_dir() else ct_path.parent) / LABELS_BESIDE_CT
    return read_volume(beside) if beside.is_file() else None


def _check_output(output: Path, suffixes: tuple[str, ...]) -> None:
    if output.suffix.lower() not in suffixes:
        raise InvalidInputError(f"output must end in {' or '.join(suffixes)}, got {output.name!r}")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise InvalidInputError(f"--size must be WIDTHxHEIGHT, e.g. 640x480, not {text!r}") from None
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise InvalidInputError(f"--size must be 64 to 4096 pixels each way, got {text}")
    return width, height


ENTRY_HELP = "Skin entry point, LPS mm (stands in for --plan)."
TARGET_HELP = "Target point, LPS mm (stands in for --plan)."
PLAN_HELP = "Plan JSON with entry_lps_mm, target_lps_mm (and optional cannula_diameter_mm)."
LABELS_HELP = f"Label map on the CT's grid (default: {LABELS_BESIDE_CT} beside the CT, else bone from the CT)."


@render_app.command("drr")
def drr_command(
    ct: Path = typer.Argument(..., help="CT volume (DICOM directory, NIfTI, NRRD, MHA)."),
    view: str = typer.Option("ap", "--view", help="Base view: ap or lateral."),
    angles: tuple[float, float] = typer.Option(
        (0.0, 0.0), "--angles", help="C-arm angles LAO CRAN in degrees, added to the view (RAO, caudal negative)."
    ),
    plan: Path | None = typer.Option(None, "--plan", help=PLAN_HELP + " Draws the needle or cannula."),
    entry: tuple[float, float, float] | None = typer.Option(None, "--entry", help=ENTRY_HELP),
    target: tuple[float, float, float] | None = typer.Option(None, "--target", help=TARGET_HELP),
    pixels: int = typer.Option(512, "--pixels", help="Detector pixels each way."),
    invert: bool = typer.Option(False, "--invert", help="Bone white on dark instead of the C-arm's dark bone."),
    output: Path = typer.Option(..., "-o", "--output", help="Output PNG."),
) -> None:
    """Simulated fluoroscopy (a DRR) of a CT, as a C-arm shows it, with the planned needle."""
    from kambin.render.views import fluoroscopy_view, write_image

    _check_output(output, (".png", ".jpg"))
    if view not in ("ap", "lateral"):
        raise InvalidInputError(f"--view must be ap or lateral, not {view!r}")
    path = _path_from_options(plan, entry, target)
    volume = read_volume(ct)
    image = fluoroscopy_view(
        volume, view, angles[0], angles[1], pixels=pixels, invert=invert,
        path=None if path is None else (path.entry_lps_mm, path.target_lps_mm),
        cannula_diameter_mm=None if path is None else path.cannula_diameter_mm,
    )
    write_image(image, output)
    console.print(f"wrote {output}", highlight=False)


@render_app.command("endoscope")
def endoscope_command(
    ct: Path = typer.Argument(..., help="CT volume."),
    plan: Path | None = typer.Option(None, "--plan", help=PLAN_HELP),
    entry: tuple[float, float, float] | None = typer.Option(None, "--entry", help=ENTRY_HELP),
    target: tuple[float, float, float] | None = typer.Option(None, "--target", help=TARGET_HELP),
    at: str = typer.Option("target", "--at", help="Tip position: entry, target, or depth in mm from the entry."),
    optics: float = typer.Option(30.0, "--optics", help="Optics angle in degrees (0, 15, 25, 30 are usual)."),
    roll: float = typer.Option(0.0, "--roll", help="Scope roll about its shaft, degrees."),
    labels: Path | None = typer.Option(None, "--labels", help=LABELS_HELP),
    size: str = typer.Option("640x480", "--size", help="Image size WIDTHxHEIGHT."),
    output: Path = typer.Option(..., "-o", "--output", help="Output PNG."),
) -> None:
    """The virtual endoscope's view with the tip on the planned path, looking along it."""
    from kambin.render.views import endoscope_meshes, endoscope_view, write_image

    _check_output(output, (".png", ".jpg"))
    width, height = _size(size)
    path = _path_from_options(plan, entry, target)
    if path is None:
        raise InvalidInputError("the endoscope needs a path: give --plan PLAN.json or --entry X Y Z --target X Y Z")
    volume = read_volume(ct)
    meshes = endoscope_meshes(volume, _labels_for(ct, labels))
    image = endoscope_view(meshes, path.entry_lps_mm, path.target_lps_mm, at=at, optics_angle_deg=optics,
                           roll_deg=roll, size=(width, height))
    write_image(image, output)
    console.print(f"wrote {output}", highlight=False)


@render_app.command("flythrough")
def flythrough_command(
    ct: Path = typer.Argument(..., help="CT volume."),
    plan: Path | None = typer.Option(None, "--plan", help=PLAN_HELP),
    entry: tuple[float, float, float] | None = typer.Option(None, "--entry", help=ENTRY_HELP),
    target: tuple[float, float, float] | None = typer.Option(None, "--target", help=TARGET_HELP),
    optics: float = typer.Option(30.0, "--optics", help="Optics angle in degrees."),
    step: float = typer.Option(0.5, "--step", help="Distance between frames along the path, mm."),
    fps: float = typer.Option(25.0, "--fps", help="Frames per second of the video."),
    labels: Path | None = typer.Option(None, "--labels", help=LABELS_HELP),
    size: str = typer.Option("640x480", "--size", help="Image size WIDTHxHEIGHT."),
    output: Path = typer.Option(..., "-o", "--output", help="Output MP4."),
) -> None:
    """A video of the endoscope's view along the path, from the skin to the target."""
    from kambin.render.views import endoscope_meshes, flythrough_frames, write_video

    _check_output(output, (".mp4",))
    width, height = _size(size)
    if not 1.0 <= fps <= 120.0:
        raise InvalidInputError(f"--fps must be 1 to 120, got {fps}")
    path = _path_from_options(plan, entry, target)
    if path is None:
        raise InvalidInputError("the flythrough needs a path: give --plan PLAN.json or --entry X Y Z --target X Y Z")
    volume = read_volume(ct)
    meshes = endoscope_meshes(volume, _labels_for(ct, labels))
    frames = flythrough_frames(meshes, path.entry_lps_mm, path.target_lps_mm, step_mm=step,
                               optics_angle_deg=optics, size=(width, height))
    count = write_video(frames, output, fps=fps)
    console.print(f"wrote {output} ({count} frames)", highlight=False)
