"""Pivot calibration. Real data: 1151 tracked-pointer poses from scikit-surgerycore's tests (BSD-3)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kambin.calibration import pivot_calibration, robust_pivot_calibration
from kambin.cli import main
from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import from_rotation_translation


def run_main(argv, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def _pivot_poses(rng, n, tip, pivot, max_angle_deg=30.0, noise_mm=0.0):
    poses = []
    for _ in range(n):
        rotation = Rotation.from_rotvec(rng.normal(0, 1, 3) * np.radians(max_angle_deg) / 2).as_matrix()
        t = pivot - rotation @ tip + rng.normal(0, noise_mm, 3)
        poses.append(from_rotation_translation(rotation, t))
    return np.array(poses)


def test_bad_poses_are_refused():
    with pytest.raises(InvalidInputError, match=r"\(N, 4, 4\)"):
        pivot_calibration(np.zeros((5, 3, 3)))
    with pytest.raises(InvalidInputError, match="at least 4"):
        pivot_calibration(np.array([np.eye(4)] * 3))
    poses = _pivot_poses(np.random.default_rng(0), 10, np.array([0, 0, 150.0]), np.zeros(3))
    poses[3, 0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="#3"):
        pivot_calibration(poses)


def test_too_little_rotation_is_refused():
    poses = _pivot_poses(np.random.default_rng(0), 50, np.array([0, 0, 150.0]), np.zeros(3), max_angle_deg=2.0)
    with pytest.raises(UnreliableResultError, match="rotated at most"):
        pivot_calibration(poses)


def test_exact_and_noisy_synthetic_pivots():
    rng = np.random.default_rng(1)
    tip, pivot = np.array([3.0, -2.0, 180.0]), np.array([100.0, 50.0, -1500.0])
    exact = pivot_calibration(_pivot_poses(rng, 50, tip, pivot))
    assert np.allclose(exact.tip_in_pointer_mm, tip, atol=1e-8) and exact.rms_mm < 1e-8
    noisy = pivot_calibration(_pivot_poses(rng, 300, tip, pivot, noise_mm=0.25))
    assert np.linalg.norm(noisy.tip_in_pointer_mm - tip) < 0.3
    assert noisy.rms_mm == pytest.approx(0.25, rel=0.15)
    with pytest.raises(UnreliableResultError, match="exceeds the 0.1 mm"):
        pivot_calibration(_pivot_poses(rng, 300, tip, pivot, noise_mm=0.25), max_rms_mm=0.1)


def test_robust_variant_ignores_slipped_poses():
    rng = np.random.default_rng(2)
    tip, pivot = np.array([0.0, 0.0, 150.0]), np.zeros(3)
    poses = _pivot_poses(rng, 200, tip, pivot, noise_mm=0.2)
    poses[:20, :3, 3] += rng.normal(0, 15.0, (20, 3))  # 10 % slipped out of the divot
    plain = pivot_calibration(poses)
    robust = robust_pivot_calibration(poses)
    assert np.linalg.norm(robust.tip_in_pointer_mm - tip) < 0.3
    assert np.linalg.norm(robust.tip_in_pointer_mm - tip) < np.linalg.norm(plain.tip_in_pointer_mm - tip) / 3
    assert robust.inliers[:20].sum() <= 2 and robust.inliers[20:].all()


def test_published_sksurgery_pivot(shared_data):
    poses = np.loadtxt(shared_data / "tracking" / "pivot-sksurgery" / "pointer_to_tracker.txt").reshape(-1, 4, 4)
    result = pivot_calibration(poses)
    assert np.allclose(result.tip_in_pointer_mm, [-14.476, 395.143, -7.558], atol=5e-4)
    assert np.allclose(result.pivot_in_tracker_mm, [-805.285, -85.448, -2112.066], atol=5e-4)
    assert result.rms_mm == pytest.approx(1.838, abs=5e-4)
    assert result.rms_3d_mm == pytest.approx(3.184, abs=5e-4)


def test_cli_pivot_json(shared_data, capsys):
    code, stdout, _ = run_main(
        ["calibrate", "pivot", str(shared_data / "tracking" / "pivot-sksurgery" / "pointer_to_tracker.txt"), "--json"],
        capsys,
    )
    assert code == 0
    out = json.loads(stdout)
    assert np.allclose(out["tip_in_tool_mm"], [-14.476, 395.143, -7.558], atol=5e-4)
    assert np.allclose(out["pivot_in_tracker_mm"], [-805.285, -85.448, -2112.066], atol=5e-4)
    assert out["rms_mm"] == pytest.approx(1.838, abs=5e-4)


def test_cli_pivot_from_a_plus_sequence(shared_data, capsys, tmp_path):
    """A PLUS recording of a pivot (written by kambin) calibrates to the tip it was made with."""
    from kambin.tracking.frame import ToolPose, TrackingFrame
    from kambin.tracking.plus import sequence_from_frames, write_plus_sequence

    tip = np.array([0.5, -1.0, 210.0])
    poses = _pivot_poses(np.random.default_rng(3), 100, tip, np.array([10.0, 20.0, -900.0]))
    frames = [TrackingFrame(float(i) * 0.02, {"stylus": ToolPose("stylus", p, "ok")}, i) for i, p in enumerate(poses)]
    path = write_plus_sequence(sequence_from_frames(frames), tmp_path / "pivot.igs.mha")
    code, stdout, _ = run_main(["calibrate", "pivot", str(path), "--tool", "Stylus", "--json"], capsys)
    assert code == 0
    assert np.allclose(json.loads(stdout)["tip_in_tool_mm"], tip, atol=1e-8)
    code, _, err = run_main(["calibrate", "pivot", str(path)], capsys)
    assert code == 1 and "--tool" in err
