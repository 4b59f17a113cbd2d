"""Transform graph: refusals first, then derived paths equal explicit products."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from kambin.errors import InvalidInputError
from kambin.geometry import TransformGraph, from_rotation_translation, invert


def random_rigid(rng):
    rotation = Rotation.random(random_state=rng.integers(1 << 31)).as_matrix()
    return from_rotation_translation(rotation, rng.normal(0, 100, 3))


def test_refuses_redundant_and_contradictory_edges():
    rng = np.random.default_rng(0)
    graph = TransformGraph()
    pointer_to_tracker, reference_to_tracker = random_rigid(rng), random_rigid(rng)
    graph.set("pointer", "tracker", pointer_to_tracker, 1.0)
    graph.set("reference", "tracker", reference_to_tracker, 1.0)
    pointer_to_reference = invert(reference_to_tracker) @ pointer_to_tracker
    with pytest.raises(InvalidInputError, match="redundant edge"):
        graph.set("pointer", "reference", pointer_to_reference, 2.0)
    with pytest.raises(InvalidInputError, match="contradictory edge"):
        graph.set("pointer", "reference", random_rigid(rng), 2.0)
    with pytest.raises(InvalidInputError, match="two different frames"):
        graph.set("ct", "ct", np.eye(4), 0.0)
    with pytest.raises(InvalidInputError, match="not a rigid"):
        graph.set("ct", "reference", np.diag([1, 1, 2, 1.0]), 0.0)
    with pytest.raises(InvalidInputError, match="status must be one of"):
        graph.set("ct", "reference", np.eye(4), 0.0, status="fine")
    with pytest.raises(InvalidInputError, match="no path"):
        graph.get("pointer", "ct")


def test_update_in_either_direction_replaces_the_edge():
    rng = np.random.default_rng(1)
    graph = TransformGraph()
    graph.set("pointer", "tracker", random_rigid(rng), 1.0)
    newer = random_rigid(rng)
    graph.set("tracker", "pointer", newer, 2.0)
    np.testing.assert_allclose(graph.get("tracker", "pointer").matrix, newer, atol=1e-9)
    assert graph.get("pointer", "tracker").timestamp_s == 2.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_paths_equal_explicit_products(seed):
    rng = np.random.default_rng(seed)
    graph = TransformGraph()
    ct_to_reference, pointer_to_tracker = random_rigid(rng), random_rigid(rng)
    reference_to_tracker, tip_to_pointer = random_rigid(rng), random_rigid(rng)
    graph.set("ct", "reference", ct_to_reference, 10.0, error_mm=0.3)
    graph.set("reference", "tracker", reference_to_tracker, 12.0, error_mm=0.2)
    graph.set("pointer", "tracker", pointer_to_tracker, 11.0, error_mm=0.2)
    graph.set("pointer_tip", "pointer", tip_to_pointer, 0.0, error_mm=0.1)
    derived = graph.get("pointer_tip", "ct")
    explicit = invert(ct_to_reference) @ invert(reference_to_tracker) @ pointer_to_tracker @ tip_to_pointer
    np.testing.assert_allclose(derived.matrix, explicit, atol=1e-8)
    assert derived.path == ("pointer_tip", "pointer", "tracker", "reference", "ct")
    assert derived.timestamp_s == 0.0
    assert derived.error_mm == pytest.approx(np.sqrt(0.3**2 + 0.2**2 + 0.2**2 + 0.1**2))
    np.testing.assert_allclose(graph.get("ct", "pointer_tip").matrix, invert(explicit), atol=1e-8)


def test_worst_status_propagates_and_invalidates():
    rng = np.random.default_rng(2)
    graph = TransformGraph()
    graph.set("ct", "reference", random_rigid(rng), 0.0)
    graph.set("pointer", "reference", random_rigid(rng), 0.0)
    assert graph.get("pointer", "ct").is_valid
    graph.mark("pointer", "reference", "missing", 1.0)
    derived = graph.get("pointer", "ct")
    assert derived.status == "missing" and not derived.is_valid
    # A missing pose may arrive with a NaN matrix; it is stored but never used as valid.
    graph.set("pointer", "reference", np.full((4, 4), np.nan), 2.0, status="missing")
    assert not graph.get("ct", "pointer").is_valid
