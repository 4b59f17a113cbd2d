"""Write a synthetic patient to a directory: ct.nii.gz, labels.nii.gz + labels.json, truth.json,
and optionally a DICOM series (dicom/) and preview.png. Everything goes to a temporary sibling
directory that is renamed at the end, so a failure leaves nothing half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kambin.atomic import staged_directory
from kambin.imaging import write_dicom_series, write_volume


def write_patient(patient, out_dir: str | os.PathLike, dicom: bool = False, preview: bool = False) -> Path:
    """Write the patient's files (LPS mm throughout) and return the output directory."""
    with staged_directory(out_dir) as staging:
        write_volume(patient.ct, staging / "ct.nii.gz")
        write_volume(patient.labels, staging / "labels.nii.gz")
        (staging / "labels.json").write_text(json.dumps(patient.label_sidecar(), indent=2) + "\n")
        (staging / "truth.json").write_text(patient.truth.model_dump_json(indent=1) + "\n")
        if dicom:
            write_dicom_series(patient.ct, staging / "dicom", patient_id=f"KAMBIN-PHANTOM-{patient.seed}",
                               series_description=f"kambin synthetic CT seed {patient.seed} (research use only)")
        if preview:
            from kambin.phantom.preview import write_preview

            write_preview(patient, staging / "preview.png")
    return Path(out_dir)
