"""Segmentation by an external engine: TotalSegmentator (Wasserthal et al., Radiology: AI 2023).

TotalSegmentator is optional (it needs PyTorch, nnU-Net and about 1.5 GB of weights); when it is
installed with its weights, `segment_with_totalsegmentator` runs its `total` task through its
Python API into a temporary directory and imports the multi-label result with the
`totalsegmentator` scheme (`anatomy.label_import`), so the labels land on the CT's own grid with
the registry's ids. `totalsegmentator_missing` says exactly what is missing otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
from pathlib import Path

from kambin.anatomy.label_import import import_label_map
from kambin.errors import InvalidInputError
from kambin.imaging.io import write_volume
from kambin.imaging.volume import Volume

#: Where TotalSegmentator keeps its weights unless TOTALSEG_HOME_DIR says otherwise.
WEIGHTS_DIR = Path.home() / ".totalsegmentator" / "nnunet" / "results"


def totalsegmentator_missing() -> str:
    """What is missing to run TotalSegmentator here ('' if nothing is)."""
    missing = [name for name in ("totalsegmentator", "torch", "nnunetv2") if importlib.util.find_spec(name) is None]
    if missing:
        return f"Python packages {', '.join(missing)} (pip install TotalSegmentator) and its weights (about 1.5 GB)"
    if not WEIGHTS_DIR.is_dir() or not any(WEIGHTS_DIR.iterdir()):
        return (
            f"TotalSegmentator's weights (expected under {WEIGHTS_DIR}; "
            "run `totalseg_download_weights -t total` online)"
        )
    return ""


def segment_with_totalsegmentator(ct: Volume, fast: bool = False) -> Volume:
    """Run TotalSegmentator's `total` task on `ct`; return its labels on `ct`'s grid, registry ids.

    Raises InvalidInputError naming what is missing when TotalSegmentator or its weights are not
    installed, and when the run fails (its own message in one line).
    """
    missing = totalsegmentator_missing()
    if missing:
        raise InvalidInputError(f"--engine totalsegmentator needs {missing}; use the default engine or --labels-from")
    api = importlib.import_module("totalsegmentator.python_api")
    with tempfile.TemporaryDirectory(prefix="kambin-totalseg-") as tmp:
        source = write_volume(ct, Path(tmp) / "ct.nii.gz")
        output = Path(tmp) / "labels.nii.gz"
        try:
            api.totalsegmentator(str(source), str(output), ml=True, task="total", fast=fast, quiet=True)
        except Exception as error:  # noqa: BLE001 - an external engine's failure becomes one line
            raise InvalidInputError(f"TotalSegmentator failed: {type(error).__name__}: {error}") from None
        if not output.is_file():
            raise InvalidInputError(f"TotalSegmentator wrote no label map ({output} missing)")
        return import_label_map(output, "totalsegmentator", ct)
