"""Paired-point registration, FRE and predicted TRE.

Real data: BARD pelvis phantom fiducials from scikit-surgerycore's tests (BSD-3;
../shared/data/registration/bard-fiducials/SOURCE.txt).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kambin.cli import main
from kambin.errors import InvalidInputError, UnreadableFileError, UnreliableResultError
from kambin.geometry.transforms import apply_transform, from_rotation_translation, is_rigid
from kambin.registration import fle_from_fre, predicted_tre_mm, register_paired_points


def run_main(argv, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_mismatched_and_malformed_inputs_are_refused():
    with pytest.raises(InvalidInputError, match="pair one to one"):
        register_paired_points(np.zeros((4, 3)), np.zeros((3, 3)))
    with pytest.raises(InvalidInputError, match=r"shape \(N, 3\)"):
        register_paired_points(np.zeros((4, 2)), np.zeros((4, 2)))
    bad = np.eye(3)
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        register_paired_points(bad, np.eye(3))


def test_too_few_and_collinear_fiducials_are_refused_with_the_reason():
    with pytest.raises(UnreliableResultError, match="2 point"):
        register_paired_points(np.eye(3)[:2], np.eye(3)[:2])
    line = np.array([[0.0, 0, 0], [10, 0, 0], [20, 0, 0], [35, 0, 0]])
    with pytest.raises(UnreliableResultError, match="collinear"):
        register_paired_points(line + 1.0, line)


def test_fre_gate_refuses_a_poor_registration():
    rng = np.random.default_rng(0)
    moving = rng.uniform(-50, 50, (5, 3))
    fixed = moving + rng.normal(0, 5.0, (5, 3))
    with pytest.raises(UnreliableResultError, match="exceeds the 1 mm limit"):
        register_paired_points(fixed, moving, max_fre_mm=1.0)


def test_recovers_a_random_rigid_transform_and_never_a_reflection():
    rng = np.random.default_rng(1)
    for _ in range(20):
        truth = from_rotation_translation(Rotation.random(random_state=rng).as_matrix(), rng.uniform(-100, 100, 3))
        moving = rng.uniform(-60, 60, (6, 3))
        result = register_paired_points(apply_transform(truth, moving), moving)
        assert np.allclose(result.moving_to_fixed, truth, atol=1e-9)
        assert result.fre_mm < 1e-9
    # Planar, noisy points whose unconstrained SVD solution is a reflection (Umeyama 1991).
    moving = np.array([[0.0, 0, 0], [10, 0, 0], [0, 10, 0], [10, 10, 0]])
    fixed = moving * np.array([1, 1, -1]) + rng.normal(0, 0.5, moving.shape)
    result = register_paired_points(fixed, moving)
    assert is_rigid(result.moving_to_fixed)
    assert np.linalg.det(result.moving_to_fixed[:3, :3]) > 0


def test_predicted_tre_matches_simulated_tre_within_20_percent():
    """Fitzpatrick 1998 eq. 46 against a Monte-Carlo of 4000 noisy registrations."""
    rng = np.random.default_rng(2)
    fiducials = np.array([[0.0, 0, 0], [80, 0, 0], [0, 60, 0], [10, 20, 50], [60, 50, 30]])
    targets = np.array([[30.0, 30, 20], [150, -40, 80], [-60, 100, -50]])
    fle = 0.5
    sigma = fle / np.sqrt(3.0)  # isotropic: per-axis sigma for an RMS 3D error of `fle`
    errors = []
    fle_estimates = []
    for _ in range(4000):
        noisy = fiducials + rng.normal(0, sigma, fiducials.shape)
        result = register_paired_points(fiducials, noisy)
        errors.append(np.linalg.norm(apply_transform(result.moving_to_fixed, targets) - targets, axis=1))
        fle_estimates.append(result.fre_mm**2)
    simulated = np.sqrt(np.mean(np.square(errors), axis=0))
    predicted = predicted_tre_mm(fiducials, targets, fle)
    assert np.all(np.abs(predicted - simulated) / simulated < 0.20), (predicted, simulated)
    # FLE recovered from the mean squared FRE (eq. 10) within 5 %.
    assert fle_from_fre(np.sqrt(np.mean(fle_estimates)), len(fiducials)) == pytest.approx(fle, rel=0.05)


def test_bard_fiducials_give_the_published_rotation(shared_data):
    folder = shared_data / "registration" / "bard-fiducials"
    ct = np.loadtxt(folder / "ct_fiducials.txt")
    world = np.loadtxt(folder / "world_fiducials.txt")
    expected = np.loadtxt(folder / "expected_rotation_world_from_ct.txt")
    result = register_paired_points(fixed=world, moving=ct)
    assert np.allclose(result.moving_to_fixed[:3, :3], expected, atol=1e-6)
    assert result.fre_mm == pytest.approx(4.197, abs=5e-4)


def test_cli_register_points_json(shared_data, capsys):
    folder = shared_data / "registration" / "bard-fiducials"
    code, stdout, _ = run_main(
        [
            "register",
            "points",
            str(folder / "world_fiducials.txt"),
            str(folder / "ct_fiducials.txt"),
            "--json",
            "--target",
            "170",
            "60",
            "-190",
        ],
        capsys,
    )
    assert code == 0
    out = json.loads(stdout)
    assert np.allclose(
        np.array(out["moving_to_fixed"])[:3, :3], np.loadtxt(folder / "expected_rotation_world_from_ct.txt"), atol=1e-6
    )
    assert out["fre_mm"] == pytest.approx(4.197, abs=5e-4)
    world = np.loadtxt(folder / "world_fiducials.txt")
    assert out["fle_mm"] == pytest.approx(4.197 * np.sqrt(4 / 2), abs=1e-3)
    assert out["tre_mm"] == pytest.approx(
        float(predicted_tre_mm(world, np.array([170.0, 60, -190]), out["fle_mm"])), rel=1e-12
    )
    assert 0 < out["tre_mm"] < out["fle_mm"]


def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\n")
    code, _, err = run_main(["register", "points", str(bad), str(bad)], capsys)
    assert code == 1
    assert "expected 3" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    line = tmp_path / "line.txt"
    line.write_text("0 0 0\n1 0 0\n2 0 0\n")
    code, _, err = run_main(["register", "points", str(line), str(line)], capsys)
    assert code == 1 and "collinear" in err


def test_unreadable_point_file():
    from kambin.registration.io import read_points

    with pytest.raises(UnreadableFileError, match="does not exist"):
        read_points("/nonexistent/points.txt")
