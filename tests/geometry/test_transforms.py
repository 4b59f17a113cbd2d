"""Rigid transforms: bad input first, then seeded property tests."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from kambin.errors import InvalidInputError
from kambin.geometry import (
    apply_transform,
    check_rigid,
    from_axis_angle,
    from_quaternion,
    from_rotation_translation,
    invert,
    is_rigid,
    to_axis_angle,
    to_quaternion,
)


def random_rigid(rng: np.random.Generator) -> np.ndarray:
    rotation = Rotation.random(random_state=rng.integers(1 << 31)).as_matrix()
    return from_rotation_translation(rotation, rng.uniform(-500, 500, 3))


seeds = st.integers(min_value=0, max_value=2**31 - 1)


def test_check_rigid_names_the_fault():
    with pytest.raises(InvalidInputError, match="4x4"):
        check_rigid(np.eye(3))
    nan = np.eye(4)
    nan[0, 3] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        check_rigid(nan, "pointer_to_tracker")
    scaled = np.diag([2.0, 1.0, 1.0, 1.0])
    with pytest.raises(InvalidInputError, match="pointer_to_tracker is not a rigid"):
        check_rigid(scaled, "pointer_to_tracker")
    reflection = np.diag([-1.0, 1.0, 1.0, 1.0])
    assert not is_rigid(reflection)


def test_quaternion_must_be_unit():
    with pytest.raises(InvalidInputError, match="unit norm"):
        from_quaternion(np.array([2.0, 0, 0, 0]))
    with pytest.raises(InvalidInputError, match="4 finite"):
        from_quaternion(np.array([1.0, 0, 0]))


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_invert_round_trip(seed):
    a_to_b = random_rigid(np.random.default_rng(seed))
    assert is_rigid(a_to_b)
    np.testing.assert_allclose(invert(a_to_b) @ a_to_b, np.eye(4), atol=1e-9)
    np.testing.assert_allclose(invert(invert(a_to_b)), a_to_b, atol=1e-9)
    np.testing.assert_allclose(invert(a_to_b), np.linalg.inv(a_to_b), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_compose_is_sequential_application(seed):
    rng = np.random.default_rng(seed)
    a_to_b, b_to_c = random_rigid(rng), random_rigid(rng)
    points_a = rng.uniform(-100, 100, (20, 3))
    a_to_c = b_to_c @ a_to_b
    np.testing.assert_allclose(
        apply_transform(a_to_c, points_a), apply_transform(b_to_c, apply_transform(a_to_b, points_a)), atol=1e-9
    )
    assert is_rigid(a_to_c)


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_axis_angle_and_quaternion_round_trips(seed):
    a_to_b = random_rigid(np.random.default_rng(seed))
    rotvec, translation = to_axis_angle(a_to_b)
    assert np.linalg.norm(rotvec) <= np.pi + 1e-9
    np.testing.assert_allclose(from_axis_angle(rotvec, translation), a_to_b, atol=1e-9)
    quaternion, translation = to_quaternion(a_to_b)
    assert quaternion[0] >= 0 and abs(np.linalg.norm(quaternion) - 1) < 1e-12
    np.testing.assert_allclose(from_quaternion(quaternion, translation), a_to_b, atol=1e-9)


def test_known_quaternion_is_scalar_first():
    # 90 degrees about +z: (w, x, y, z) = (cos 45, 0, 0, sin 45) maps +x to +y.
    q = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(apply_transform(from_quaternion(q), [1.0, 0, 0]), [0, 1.0, 0], atol=1e-12)
