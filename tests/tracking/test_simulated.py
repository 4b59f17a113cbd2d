"""The simulated optical tracker: seeded noise, latency, jitter and dropouts along a scripted path."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import apply_transform, from_axis_angle
from kambin.tracking import TrackerState
from kambin.tracking.simulated import NoiseModel, SimulatedTracker, ToolPath

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime

ENTRY = np.array([-110.0, 60.0, -40.0])  # LPS: left, posterior skin entry
TARGET = np.array([-15.0, 10.0, -45.0])  # towards the foramen


def _tracker(**kwargs):
    paths = {
        "scope": ToolPath(np.array([ENTRY, TARGET]), speed_mm_s=20.0, tip_in_tool_mm=(0.0, 0.0, 180.0)),
        "reference": ToolPath(np.array([[0.0, 80.0, 0.0]])),
    }
    return SimulatedTracker(paths, ct_to_tracker=from_axis_angle([0, 0, 0.5], [100, 0, -1500]), **kwargs)


def _frames(tracker, n):
    with tracker:
        return [tracker.get_frame() for _ in range(n)]


def test_the_tip_follows_the_path_with_the_configured_noise():
    tracker = _tracker(noise=NoiseModel(position_rms_mm=0.25, rotation_rms_deg=0.0), seed=1)
    frames = _frames(tracker, 600)
    tip = np.array([0.0, 0.0, 180.0])
    errors = []
    for frame in frames:
        t = frame.source_timestamp_s
        measured = apply_transform(frame.poses["scope"].tool_to_tracker, tip)
        errors.append(measured - apply_transform(tracker.truth("scope", t), tip))
        truth_ct = apply_transform(np.linalg.inv(tracker.ct_to_tracker) @ tracker.truth("scope", t), tip)
        # The true tip is on the entry-target segment.
        along = np.dot(truth_ct - ENTRY, TARGET - ENTRY) / np.dot(TARGET - ENTRY, TARGET - ENTRY)
        assert np.linalg.norm(truth_ct - (ENTRY + along * (TARGET - ENTRY))) < 1e-9
    rms = np.sqrt(np.mean(np.sum(np.square(errors), axis=1)))
    assert rms == pytest.approx(0.25, rel=0.1)
    # The scope's z axis points at the target.
    z = (np.linalg.inv(tracker.ct_to_tracker) @ tracker.truth("scope", 0.1))[:3, 2]
    assert np.allclose(z, (TARGET - ENTRY) / np.linalg.norm(TARGET - ENTRY))


def test_seeded_and_reproducible():
    a = _frames(_tracker(seed=5, dropouts_per_s=2.0), 50)
    b = _frames(_tracker(seed=5, dropouts_per_s=2.0), 50)
    c = _frames(_tracker(seed=6, dropouts_per_s=2.0), 50)
    same = [
        np.array_equal(x.poses["scope"].tool_to_tracker, y.poses["scope"].tool_to_tracker, equal_nan=True)
        for x, y in zip(a, b, strict=True)
    ]
    assert all(same)
    assert [x.source_timestamp_s for x in a] == [y.source_timestamp_s for y in b]
    assert not np.array_equal(a[0].poses["scope"].tool_to_tracker, c[0].poses["scope"].tool_to_tracker)


def test_dropouts_are_missing_poses():
    tracker = _tracker(seed=2, dropouts_per_s=1.0, dropout_mean_s=0.3)
    frames = _frames(tracker, 60 * 60)  # one simulated minute at 60 Hz
    missing = np.array([f.poses["scope"].status == "missing" for f in frames])
    assert all(f.valid_pose("scope") is None for f, m in zip(frames, missing, strict=True) if m)
    # Expected fraction out of view ~ rate * duration / (1 + rate * duration) = 0.23.
    assert 0.12 < missing.mean() < 0.35
    assert any("scope missing" in line for line in tracker.faults)


def test_jitter_keeps_time_moving_forward_and_near_the_rate():
    frames = _frames(_tracker(seed=3, rate_hz=60.0, jitter_s=0.002), 300)
    stamps = np.array([f.timestamp_s for f in frames])
    steps = np.diff(stamps)
    assert np.all(steps > 0)
    assert np.mean(steps) == pytest.approx(1 / 60, rel=0.01)
    assert 0.002 < np.std(steps) < 0.004  # difference of two jitters: sqrt(2) * 2 ms
    assert all(f.poses["scope"].status == "ok" for f in frames)


def test_realtime_latency():
    tracker = _tracker(seed=4, rate_hz=100.0, latency_s=0.05, jitter_s=0.0, realtime=True)
    with tracker:
        lags = []
        for _ in range(10):
            frame = tracker.get_frame(timeout_s=1.0)
            lags.append(time.monotonic() - frame.timestamp_s)
    assert tracker.state is TrackerState.STOPPED
    assert min(lags) >= 0.05 and np.median(lags) < 0.08


def test_bad_configuration():
    with pytest.raises(InvalidInputError, match="at least one"):
        SimulatedTracker({})
    with pytest.raises(InvalidInputError, match="waypoints"):
        ToolPath(np.array([[0.0, 0.0]]))
    with pytest.raises(InvalidInputError, match="jitter"):
        _tracker(rate_hz=100.0, jitter_s=0.01)
    with pytest.raises(InvalidInputError, match="non-negative"):
        NoiseModel(position_rms_mm=-1)
