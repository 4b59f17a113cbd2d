"""`kambin --version`, `kambin labels`, `kambin info`: in-process, and through the installed
console script for the no-traceback guarantee."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kambin.cli import main

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

KAMBIN = Path(sys.executable).parent / "kambin"
INFO_KEYS = {
    "path", "shape_ijk", "spacing_mm", "origin_lps_mm", "direction_lps", "voxel_to_lps",
    "modality", "hu_min", "hu_max", "warnings",
}


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_version(capsys):
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0 and out.startswith("kambin ")


def test_labels_json_matches_registry(capsys):
    code, out, _ = run_main(["labels", "--json"], capsys)
    labels = json.loads(out)
    assert code == 0
    assert labels["28"] == "vertebrae_L4" and labels["26"] == "vertebrae_S1"
    assert "nerve_root_L4_left" in labels.values() and "dural_sac" in labels.values()


def test_info_json_on_real_dicom(capsys, shared_data):
    path = shared_data / "ct" / "totalseg-example" / "dicom"
    code, out, _ = run_main(["info", str(path), "--json"], capsys)
    info = json.loads(out)
    assert code == 0
    assert set(info) == INFO_KEYS
    assert info["shape_ijk"] == [512, 512, 20]
    np.testing.assert_allclose(info["spacing_mm"], [0.977, 0.977, 2.0], atol=5e-4)
    np.testing.assert_allclose(info["origin_lps_mm"], [-249.51, -437.51, -804.5], atol=5e-3)
    np.testing.assert_allclose(info["direction_lps"], np.eye(3))
    assert info["modality"] == "CT" and info["warnings"] == []
    assert info["hu_min"] == -1024 and info["hu_max"] > 1000


def test_info_table(capsys, shared_data):
    code, out, _ = run_main(["info", str(shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz")], capsys)
    assert code == 0 and "100 x 86 x 37" in out and "spacing" in out


def truncated_nifti(tmp: Path) -> Path:
    data = (SHARED_DATA / "ct" / "totalseg-example" / "example_ct_sm.nii.gz").read_bytes()
    (tmp / "cut.nii.gz").write_bytes(data[: len(data) // 2])
    return tmp / "cut.nii.gz"


def series_without_a_slice(tmp: Path) -> Path:
    import pydicom

    files = sorted((SHARED_DATA / "ct" / "totalseg-example" / "dicom").iterdir(),
                   key=lambda p: float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2]))
    (tmp / "series").mkdir()
    for n, file in enumerate(files):
        if n != 9:
            (tmp / "series" / file.name).write_bytes(file.read_bytes())
    return tmp / "series"


def two_dimensional(tmp: Path) -> Path:
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((20, 30), dtype=np.int16)), str(tmp / "slice.nii.gz"))
    return tmp / "slice.nii.gz"


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda tmp: tmp / "missing.nii.gz", "no such file or directory"),
        (lambda tmp: tmp, "directory is empty"),
        (lambda tmp: (tmp / "x.nii.gz").write_text("text") and tmp / "x.nii.gz", "not a complete gzip file"),
        (truncated_nifti, "not a complete gzip file"),
        (series_without_a_slice, "1 slice(s) missing from the series"),
        (two_dimensional, "a 2D image (30x20)"),
    ],
)
def test_bad_input_is_one_line_without_traceback(tmp_path, make_input, message):
    path = make_input(tmp_path)
    result = subprocess.run([str(KAMBIN), "info", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert result.stdout == ""


def test_usage_error_exits_2(capsys):
    code, _, err = run_main(["info"], capsys)
    assert code == 2 and "Missing argument" in err
