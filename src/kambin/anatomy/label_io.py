"""The label map's JSON sidecar (label id as a string -> registry name), written with the label map
as `kambin segment` and the planner's anatomy do (`seg.nii.gz` goes with `seg.json`), and read back
here by everyone else."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging.volume import Volume


def sidecar_path(labels_path: str | os.PathLike) -> Path:
    """`seg.nii.gz` -> `seg.json` next to it."""
    path = Path(labels_path)
    name = path.name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(name + ".json")


def read_label_names(labels_path: str | os.PathLike) -> dict[str, str] | None:
    """The names in the label map's sidecar (label id as a string -> registry name), or None when the
    label map has no sidecar (its ids are then the registry's)."""
    sidecar = sidecar_path(labels_path)
    if not sidecar.is_file():
        return None
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{sidecar}: not a JSON object of label id to name")
    return {str(k): str(v) for k, v in data.items()}


def write_label_map(labels: Volume, names: dict[str, str], path: str | os.PathLike) -> tuple[Path, Path]:
    """Write the label map and its sidecar (only the ids present), each atomically; on a failure
    of the second, the first is removed: nothing is left half-written."""
    from kambin.imaging.io import write_volume

    path = Path(path)
    if not path.parent.is_dir():
        raise UnreadableFileError(f"{path.parent}: output directory does not exist")
    present = {int(i) for i in np.unique(labels.voxels) if i != 0}
    payload = json.dumps(
        {k: v for k, v in sorted(names.items(), key=lambda kv: int(kv[0])) if int(k) in present}, indent=2
    )
    written = write_volume(labels, path)
    try:
        write_text_atomic(sidecar_path(path), payload + "\n")
    except OSError:
        written.unlink(missing_ok=True)
        raise
    return written, sidecar_path(path)
