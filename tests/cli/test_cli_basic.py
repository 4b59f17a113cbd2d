"""`kambin --version`, `kambin labels`, `kambin info`: in-process, and through the installed
console script for the no-traceback guarantee."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kambin.cli import main

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


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda tmp: tmp / "missing.nii.gz", "no such file or directory"),
        (lambda tmp: tmp, "directory is empty"),
        (lambda tmp: (tmp / "x.nii.gz").write_text("text") and tmp / "x.nii.gz", "not a complete gzip file"),
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
