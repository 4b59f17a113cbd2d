"""`kambin replay SESSION_DIR`: a recorded navigation session through the same pipeline, summarised
and exported."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from kambin.cli.app import DISCLAIMER, app, console
from kambin.errors import InvalidInputError


@app.command("replay")
def replay_command(
    session: Path = typer.Argument(..., metavar="SESSION_DIR", help="A session recorded by `kambin monitor`."),
    mp4: Path | None = typer.Option(None, "--mp4", help="Write the video with the overlays to OUT.mp4."),
    plus: Path | None = typer.Option(None, "--plus", help="Write the tracking to a PLUS sequence OUT.igs.mha."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the summary to OUT.json."),
) -> None:
    """Replay a recorded session: frames, duration, alarms raised, closest approach to the roots and sac."""
    from kambin.atomic import write_text_atomic
    from kambin.navigation.replay import replay_session

    if not session.is_dir():
        raise InvalidInputError(f"{session}: no such session directory")
    if json_path is not None:
        if json_path.suffix.lower() != ".json":
            raise InvalidInputError(f"--json {json_path.name!r} must end in .json")
        if not json_path.parent.is_dir():
            raise InvalidInputError(f"{json_path.parent}: output directory does not exist")
    with console.status("replaying"):
        summary = replay_session(session, mp4=mp4, plus=plus)
    result = {"session": str(session), **summary.as_dict(), "disclaimer": DISCLAIMER}
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
    table = Table(title=f"kambin replay {session.name} ({DISCLAIMER})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("frames", f"{summary.frames} in {summary.duration_s:.1f} s ({summary.fps:.1f} fps)")
    table.add_row("states", ", ".join(f"{state} {count}" for state, count in summary.states.items()))
    table.add_row("alarms raised", "; ".join(f"{kind}: {c['raised']}x, {c['frames']} frames"
                                             for kind, c in summary.alarms.items()) or "none")
    for name, distance in summary.min_distance_mm.items():
        table.add_row(f"closest {name.replace('_', ' ')}", "not measured" if distance is None else f"{distance:.1f} mm")
    table.add_row("as recorded live", f"{summary.matched_recorded} of {summary.recorded} frames"
                  + (f"; {summary.cut_by_crash} without recorded guidance (cut off)" if summary.cut_by_crash else ""))
    console.print(table)
    written = [str(p) for p in (mp4, plus, json_path) if p is not None]
    if written:
        console.print(f"wrote {', '.join(written)}", highlight=False)
