"""Write a synthetic patient to a directory: ct.nii.gz, labels.nii.gz + labels.json, truth.json,
and optionally a DICOM series (dicom/) and preview.png. Everything goes to a temporary sibling
directory that is renamed at the end, so a failure leaves nothing half-written."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging import write_dicom_series, write_volume


def check_output_dir(out_dir: str | os.PathLike) -> Path:
    """The output directory must be new or empty, and its parent must exist."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out}: exists and is not a directory; choose a new or empty directory")
    if out.exists() and any(out.iterdir()):
        raise InvalidInputError(f"{out}: directory is not empty; choose a new or empty directory")
    if not out.absolute().parent.exists():
        raise UnreadableFileError(f"{out.absolute().parent}: parent directory does not exist; create it first")
    return out


def write_patient(patient, out_dir: str | os.PathLike, dicom: bool = False, preview: bool = False) -> Path:
    """Write the patient's files (LPS mm throughout) and return the output directory."""
    out = check_output_dir(out_dir)
    parent = out.absolute().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        write_volume(patient.ct, staging / "ct.nii.gz")
        write_volume(patient.labels, staging / "labels.nii.gz")
        (staging / "labels.json").write_text(json.dumps(patient.label_sidecar(), indent=2) + "\n")
        (staging / "truth.json").write_text(patient.truth.model_dump_json(indent=1) + "\n")
        if dicom:
            write_dicom_series(
                patient.ct,
                staging / "dicom",
                patient_id=f"KAMBIN-PHANTOM-{patient.seed}",
                series_description=f"kambin synthetic CT seed {patient.seed} (research use only)",
            )
        if preview:
            from kambin.phantom.preview import write_preview

            write_preview(patient, staging / "preview.png")
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out
