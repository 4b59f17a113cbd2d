"""`kambin anatomy` end to end on a synthetic patient written by `kambin phantom`'s writer, and its
refusals of bad input: one line on stderr, exit 1, no traceback."""

import json

import numpy as np
import pytest

from kambin.cli import main
from kambin.imaging import Volume, write_volume
from kambin.phantom import make_patient
from kambin.phantom.export import write_patient

BONE_IDS = (25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 77, 78, 246)  # 246: facet osteophyte, bone on CT


@pytest.fixture(scope="module")
def patient_dir(tmp_path_factory):
    patient = make_patient(8, spacing_mm=(1.5, 1.5, 1.5))
    out = write_patient(patient, tmp_path_factory.mktemp("anatomy") / "patient")
    voxels = np.asarray(patient.labels.voxels)
    bone = patient.labels.with_voxels(np.where(np.isin(voxels, BONE_IDS), voxels, 0).astype(np.uint8))
    write_volume(bone, out / "bone.nii.gz")
    return out, patient.truth


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_json_is_one_spine_model_close_to_the_truth(patient_dir, capsys):
    directory, truth = patient_dir
    code, out, _ = run(
        ["anatomy", str(directory / "ct.nii.gz"), "--labels", str(directory / "bone.nii.gz"), "--json"], capsys
    )
    assert code == 0
    model = json.loads(out)
    assert "not a medical device" in model["disclaimer"].lower()
    assert set(model["levels"]) == {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"}
    left = model["levels"]["L4-L5"]["left"]
    true_left = truth.levels["L4-L5"].left
    # 1.5 mm voxels: looser than the 1 mm floor asserted at 1 mm in tests/anatomy/test_spine_model.py
    assert abs(left["kambin_triangle"]["inscribed_diameter_mm"] - true_left.kambin_triangle_inscribed_diameter_mm) < 1.5
    assert abs(left["foramen"]["height_mm"] - true_left.foramen_height_mm) < 2.5 * 1.5  # 2.5 voxels
    assert model["uncertainty_mm"]["nerve_root_L4_left"] > 0


def test_table_has_the_measures_flags_and_disclaimer(patient_dir, capsys):
    directory, _ = patient_dir
    code, out, _ = run(["anatomy", str(directory / "ct.nii.gz"), "--labels", str(directory / "labels.nii.gz")], capsys)
    assert code == 0
    text = " ".join(out.split())
    for word in ("Kambin's triangle", "inscribed", "hypotenuse", "foramen", "disc", "canal", "flags", "L4-L5"):
        assert word in text
    assert "Research and training use only; not a medical device." in text


def _refused(argv, capsys, pattern):
    code, out, err = run(argv, capsys)
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and pattern in lines[0], err
    assert "Traceback" not in err + out


def test_labels_on_another_grid_are_refused(patient_dir, tmp_path, capsys):
    directory, _ = patient_dir
    from kambin.imaging import read_volume

    labels = read_volume(directory / "labels.nii.gz")
    cropped = Volume(np.ascontiguousarray(labels.voxels[2:]), labels.voxel_to_lps, modality="SEG")
    write_volume(cropped, tmp_path / "cropped.nii.gz")
    _refused(
        ["anatomy", str(directory / "ct.nii.gz"), "--labels", str(tmp_path / "cropped.nii.gz")],
        capsys,
        "not on the CT's grid",
    )


def test_a_label_map_without_vertebrae_is_refused(patient_dir, tmp_path, capsys):
    directory, _ = patient_dir
    from kambin.imaging import read_volume

    labels = read_volume(directory / "labels.nii.gz")
    write_volume(labels.with_voxels(np.zeros(labels.shape_ijk, np.uint8)), tmp_path / "empty.nii.gz")
    _refused(
        ["anatomy", str(directory / "ct.nii.gz"), "--labels", str(tmp_path / "empty.nii.gz")], capsys, "no vertebra"
    )


def test_hints_without_segmentation_are_refused(patient_dir, capsys):
    directory, _ = patient_dir
    _refused(
        ["anatomy", str(directory / "ct.nii.gz"), "--labels", str(directory / "labels.nii.gz"), "--lowest", "L5"],
        capsys,
        "--lowest/--highest",
    )
