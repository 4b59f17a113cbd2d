"""`kambin phantom` end to end: files in LPS mm that kambin's own readers read back, and
clean one-line failures (exit code 1, no traceback, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kambin.anatomy.labels import label_by_id
from kambin.cli import main
from kambin.imaging import read_volume
from kambin.phantom.truth import PatientTruth


def run(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def test_writes_ct_labels_truth_dicom_and_preview(tmp_path, capsys):
    out = tmp_path / "case"
    code = run(
        [
            "phantom",
            "-o",
            str(out),
            "--seed",
            "3",
            "--pathology",
            "foraminal-herniation",
            "--side",
            "right",
            "--level",
            "L3-L4",
            "--spacing",
            "3",
            "3",
            "4",
            "--dicom",
            "--preview",
        ]
    )
    assert code in (0, None)
    assert sorted(p.name for p in out.iterdir()) == [
        "ct.nii.gz",
        "dicom",
        "labels.json",
        "labels.nii.gz",
        "preview.png",
        "truth.json",
    ]
    ct = read_volume(out / "ct.nii.gz")
    labels = read_volume(out / "labels.nii.gz")
    dicom = read_volume(out / "dicom")
    assert ct.same_grid(labels) and ct.same_grid(dicom, tolerance_mm=1e-3)
    np.testing.assert_allclose(ct.spacing_mm, [3, 3, 4], atol=1e-6)
    np.testing.assert_array_equal(dicom.voxels, ct.voxels)
    sidecar = json.loads((out / "labels.json").read_text())
    present = {int(i) for i in np.unique(labels.voxels)} - {0}
    assert {int(k) for k in sidecar} == present
    assert all(label_by_id(int(k)).name == v for k, v in sidecar.items())
    truth = PatientTruth.model_validate_json((out / "truth.json").read_text())
    raw = json.loads((out / "truth.json").read_text())
    side = raw["levels"]["L4-L5"]["left"]
    assert len(side["kambin_triangle_lps_mm"]) == 3 and all(len(p) == 3 for p in side["kambin_triangle_lps_mm"])
    for key in (
        "exiting_root_centerline_lps_mm",
        "exiting_root_radius_mm",
        "traversing_root_centerline_lps_mm",
        "traversing_root_radius_mm",
    ):
        assert key in side
    assert raw["herniation"]["level"] == "L3-L4" and raw["herniation"]["zone"] == "foraminal"
    assert raw["herniation"]["side"] == "right" and raw["pathology"]["kind"] == "foraminal-herniation"
    assert len(raw["dural_sac"]["centerline_lps_mm"]) == len(raw["dural_sac"]["radius_mm"])
    # The truth is in the CT's frame: the herniation centroid is labelled disc_herniation (or next to it).
    ijk = np.round(ct.lps_to_ijk(np.array(truth.herniation.centroid_lps_mm))).astype(int)
    near = labels.voxels[ijk[0] - 1 : ijk[0] + 2, ijk[1] - 1 : ijk[1] + 2, ijk[2] - 1 : ijk[2] + 2]
    assert 245 in near
    assert (out / "preview.png").stat().st_size > 20_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pathology", "tumour"], "pathology must be one of"),
        (["--level", "L6-S1", "--pathology", "central-herniation"], "level must be one of"),
        (["--side", "middle"], "side must be left or right"),
        (["--spacing", "0", "1", "1"], "spacing must be three numbers"),
    ],
)
def test_bad_options_exit_1_with_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "case"
    assert run(["phantom", "-o", str(out), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # one line, perhaps wrapped by the console
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_non_empty_output_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "case"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert run(["phantom", "-o", str(out), "--spacing", "4", "4", "4"]) == 1
    err = capsys.readouterr().err
    assert "not empty" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_missing_parent_directory_is_refused(tmp_path, capsys):
    assert run(["phantom", "-o", str(tmp_path / "no" / "case"), "--spacing", "4", "4", "4"]) == 1
    assert "parent directory does not exist" in capsys.readouterr().err


def test_contrast_option_enhances_the_aorta_in_the_written_ct(tmp_path):
    out = tmp_path / "enhanced"
    assert run(["phantom", "-o", str(out), "--spacing", "3", "3", "3", "--contrast", "arterial"]) == 0
    ct, labels = read_volume(out / "ct.nii.gz"), read_volume(out / "labels.nii.gz")
    aorta = labels.voxels == 52
    assert aorta.any() and float(np.median(ct.voxels[aorta])) > 200
    assert run(["phantom", "-o", str(tmp_path / "bad"), "--contrast", "delayed"]) == 1
    assert not (tmp_path / "bad").exists()


def test_thoracic_option_writes_the_lowest_ribs(tmp_path, capsys):
    out = tmp_path / "thoracic"
    assert run(["phantom", "-o", str(out), "--spacing", "3", "3", "3", "--thoracic", "--rib-pairs", "13"]) == 0
    labels = read_volume(out / "labels.nii.gz").voxels
    assert {32, 33, 247, 248} <= set(np.unique(labels).tolist())  # T12, T11 and the lumbar ribs
    assert run(["phantom", "-o", str(tmp_path / "bad"), "--rib-pairs", "11"]) == 1
    assert "needs thoracic" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
