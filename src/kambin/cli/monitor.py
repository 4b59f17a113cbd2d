"""`kambin monitor`: the operating-room monitor in the browser, over the simulated operating room
(`--sim`) or a real setup (tracker, video, calibration, registration)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from kambin.cli.app import DISCLAIMER, app, console
from kambin.errors import InvalidInputError, KambinError

LIVE_ONLY = ("--tracking", "--video", "--camera", "--hand-eye", "--registration", "--ct", "--labels")


def _checked(option: str, read: Callable):
    """Run one input check; its error names the option it came from."""
    try:
        return read()
    except KambinError as error:
        raise type(error)(f"{option}: {error}") from None


@app.command()
def monitor(
    sim: bool = typer.Option(False, "--sim", help="Simulated operating room: synthetic patient, tracked scope, video."),
    plan: Path | None = typer.Option(
        None, "--plan", help="PLAN.json to navigate (required for a real setup; with --sim: planned here)."
    ),
    ct: Path | None = typer.Option(None, "--ct", help="The planning CT (default: the one the plan names)."),
    labels: Path | None = typer.Option(
        None, "--labels", help="Its label map, as `kambin plan` wrote it (default: the one the plan names)."
    ),
    tracking: str | None = typer.Option(
        None, "--tracking", help="plus:FILE.igs.mha (a PLUS recording, played in real time) or igtl://HOST:PORT."
    ),
    video: str | None = typer.Option(
        None, "--video", help="Capture device index (0), stream URL, or video file (played in real time)."
    ),
    camera: Path | None = typer.Option(
        None, "--camera", help="CAMERA.json: intrinsics, as `kambin calibrate camera --json` prints them."
    ),
    hand_eye: Path | None = typer.Option(
        None, "--hand-eye", help="HANDEYE.json: camera_to_scope (4x4), the camera on the tracked scope."
    ),
    registration: Path | None = typer.Option(
        None, "--registration",
        help="REG.json: ct_to_reference, or `kambin register points --json` output. Without it: no registration, "
        "no tool drawn.",
    ),
    scope_tool: str = typer.Option(
        "scope", "--scope-tool", help="The tracker's name of the scope's tip frame (scope_tip or ScopeTip)."
    ),
    reference_tool: str = typer.Option(
        "reference", "--reference-tool", help="The tracker's name of the patient reference."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8080, "--port", help="TCP port of the page and /api/status."),
    sessions: Path = typer.Option(Path("sessions"), "--sessions", help="Where recorded sessions are written."),
    alarms: Path | None = typer.Option(
        None, "--alarms", help="JSON alarm thresholds: warn_mm and stop_mm per structure, max_registration_error_mm."
    ),
) -> None:
    """Serve the monitor page: live video with overlay, 3D view, slices, guidance and alarms."""
    from kambin.monitor.serve import serve_live, serve_simulated
    from kambin.navigation.session import LiveOptions

    def step(name: str) -> None:
        console.print(f"  building {name}", highlight=False)

    def ready(url: str, seconds: float) -> None:
        console.print(f"monitor at {url} (ready in {seconds:.0f} s)", highlight=False)

    given = {"--tracking": tracking, "--video": video, "--camera": camera, "--hand-eye": hand_eye,
             "--registration": registration, "--ct": ct, "--labels": labels}
    if sim:
        extra = [name for name in LIVE_ONLY if given[name] is not None]
        extra += [name for name, value, default in (("--scope-tool", scope_tool, "scope"),
                                                    ("--reference-tool", reference_tool, "reference"))
                  if value != default]
        if extra:
            raise InvalidInputError(f"{', '.join(extra)}: only for a real setup; leave out with --sim")
        console.print(f"[bold]kambin monitor[/] - {DISCLAIMER}", highlight=False)
        serve_simulated(plan, host=host, port=port, sessions_dir=sessions, alarms_path=alarms, step=step, ready=ready)
        return
    required = {"--plan": plan, "--tracking": tracking, "--video": video, "--camera": camera, "--hand-eye": hand_eye}
    missing = [name for name, value in required.items() if value is None]
    if missing:
        raise InvalidInputError(
            f"a real setup needs {', '.join(missing)} (see kambin monitor --help); or run the simulated "
            "operating room with --sim"
        )
    options = LiveOptions(plan, tracking, video, camera, hand_eye, registration, ct, labels, scope_tool,
                          reference_tool, alarms)
    console.print(f"[bold]kambin monitor[/] - {DISCLAIMER}", highlight=False)
    serve_live(options, host=host, port=port, sessions_dir=sessions, step=step, ready=ready, checked=_checked)
