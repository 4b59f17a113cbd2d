"""The planning interface: soft-tissue estimates from bone labels, scored against the phantom's truth
with the uncertainties the planner adds to its limits (set from other patients by
bench/bench_anatomy.py; this patient is not one of them)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from kambin.anatomy.labels import label_id
from kambin.anatomy.soft_tissue_estimates import (
    UNCERTAINTY_MM,
    estimate_planning_labels,
    root_uncertainty_mm,
)
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume
from kambin.phantom import make_patient

# Slow (estimates on 1 mm phantoms: 30-60 s a test): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow

BONE_IDS = (25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 77, 78, 246)  # 246: facet osteophyte, bone on CT


def test_refuses_labels_off_the_ct_grid_and_maps_without_vertebrae():
    ct = Volume.from_geometry(np.zeros((20, 20, 20), np.int16), (1.0, 1.0, 1.0))
    other = Volume.from_geometry(np.zeros((20, 20, 20), np.uint8), (1.0, 1.0, 2.0))
    with pytest.raises(InvalidInputError, match="grid"):
        estimate_planning_labels(ct, other)
    with pytest.raises(InvalidInputError, match="no vertebra"):
        estimate_planning_labels(ct, ct.with_voxels(np.zeros((20, 20, 20), np.uint8)))


@pytest.fixture(scope="module")
def estimated():
    patient = make_patient(
        31, pathology="foraminal-herniation", level="L3-L4", side="right", spacing_mm=(1.2, 1.2, 1.2)
    )
    voxels = np.asarray(patient.labels.voxels)
    bone = patient.labels.with_voxels(np.where(np.isin(voxels, BONE_IDS), voxels, 0).astype(np.uint8))
    return patient, bone, estimate_planning_labels(patient.ct, bone)


def _dense(points, radii, step=0.2):
    points, radii = np.asarray(points), np.asarray(radii)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    t = np.linspace(0.0, s[-1], int(s[-1] / step) + 2)
    return np.stack([np.interp(t, s, points[:, a]) for a in range(3)], axis=1), np.interp(t, s, radii)


def test_the_map_keeps_the_bone_and_names_every_label(estimated):
    _, bone, anatomy = estimated
    out, given = np.asarray(anatomy.labels.voxels), np.asarray(bone.voxels)
    assert anatomy.labels.same_grid(bone)
    assert np.array_equal(out[given > 0], given[given > 0])
    present = {str(i) for i in np.unique(out) if i != 0}
    assert set(anatomy.names) == present
    names = set(anatomy.names.values())
    for needed in (
        "dural_sac",
        "disc_L4_L5",
        "nerve_root_L4_left",
        "nerve_root_L5_right",
        "iliopsoas_left",
        "peritoneal_cavity",
    ):
        assert needed in names
    # every estimate has an uncertainty; the bone given has none
    assert {n for n in names if not n.startswith(("vertebrae_", "sacrum", "hip_"))} == set(anatomy.uncertainty_mm)
    assert all(v > 0 for v in anatomy.uncertainty_mm.values())
    assert anatomy.notes


def test_exiting_roots_within_their_uncertainty_in_the_foramen(estimated):
    patient, _, anatomy = estimated
    for level, truth in patient.truth.levels.items():
        for side in ("left", "right"):
            t = getattr(truth, side)
            pts, radii = np.asarray(t.exiting_root_centerline_lps_mm), np.asarray(t.exiting_root_radii_mm)
            near = np.linalg.norm(pts - t.foramen_centre_lps_mm, axis=1) < 20.0
            est = anatomy.roots[t.exiting_root]
            dense, rad = _dense(est.points_lps_mm, est.radii_mm)
            d, i = cKDTree(dense).query(pts[near])
            excess = d + radii[near] - rad[i]  # how far the true surface reaches out of the estimate
            limit = root_uncertainty_mm(t.exiting_root.split("_")[2])
            assert 0 < anatomy.uncertainty_mm[t.exiting_root] <= limit
            assert excess.max() < limit, (level, side, excess.max())
            if level != "L5-S1":
                assert d.mean() < 1.5, (level, side, d.mean())


def test_true_roots_and_sac_inside_the_labels_widened_by_their_local_uncertainty(estimated):
    """The planner keeps its limits to each estimate widened by its per-voxel uncertainty (seen on the
    CT: small; estimated: large): on this patient, not one of those it was calibrated on, the true
    exiting roots near their foramen and the true sac must lie inside those envelopes."""
    from kambin.planning.scene import envelope_mask

    patient, _, anatomy = estimated
    out, true = np.asarray(anatomy.labels.voxels), np.asarray(patient.labels.voxels)
    uncertainty = np.asarray(anatomy.uncertainty.voxels)
    spacing = patient.ct.spacing_mm
    assert uncertainty[out == 0].max() == 0
    seen_somewhere = False
    for level, truth in patient.truth.levels.items():
        for side in ("left", "right"):
            t = getattr(truth, side)
            ids = label_id(t.exiting_root)
            label = out == ids
            root = true == ids
            ijk = np.argwhere(root)
            far = np.linalg.norm(patient.ct.ijk_to_lps(ijk.astype(float)) - t.foramen_centre_lps_mm, axis=1) > 20.0
            root[tuple(ijk[far].T)] = False
            envelope = envelope_mask(label, np.where(label, uncertainty, 0.0), spacing)
            outside = ndimage.distance_transform_edt(~envelope, sampling=spacing)[root]
            assert outside.max(initial=0.0) <= spacing.max() + 1e-6, (level, side, outside.max())
            seen_somewhere |= bool(uncertainty[label].min() < root_uncertainty_mm(t.exiting_root.split("_")[2]))
    assert seen_somewhere  # some root is seen on the CT, with a smaller uncertainty there


def test_dural_sac_within_its_uncertainty(estimated):
    patient, _, anatomy = estimated
    truth = patient.truth
    pts, radii = np.asarray(truth.dural_sac.centerline_lps_mm), np.asarray(truth.dural_sac.radius_mm)
    top = truth.vertebrae["L1"].superior_endplate_centre_lps_mm[2]
    bottom = truth.vertebrae["S1"].superior_endplate_centre_lps_mm[2]
    near = (pts[:, 2] < top) & (pts[:, 2] > bottom)
    dense, rad = _dense(anatomy.dural_sac.points_lps_mm, anatomy.dural_sac.radii_mm)
    d, i = cKDTree(dense).query(pts[near])
    assert (d + radii[near] - rad[i]).max() < UNCERTAINTY_MM["dural_sac"]
    assert d.mean() < 1.0


def test_discs_and_peritoneum_against_the_truth(estimated):
    patient, _, anatomy = estimated
    out, true = np.asarray(anatomy.labels.voxels), np.asarray(patient.labels.voxels)
    for level in ("L1_L2", "L2_L3", "L3_L4", "L4_L5", "L5_S1"):
        a, b = out == label_id(f"disc_{level}"), true == label_id(f"disc_{level}")
        assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.75, level
    bowel = np.isin(true, [label_id(n) for n in ("peritoneal_cavity", "small_bowel", "colon")])
    estimate = out == label_id("peritoneal_cavity")
    outside = ndimage.distance_transform_edt(~estimate, sampling=patient.ct.spacing_mm)[bowel & ~estimate]
    assert np.percentile(outside, 99) < UNCERTAINTY_MM["peritoneal_cavity"]
    psoas = out == label_id("iliopsoas_left")
    # what it labels is mostly psoas (about 0.7 measured; the psoas is not a planning limit, and the
    # iliacus below L5 is not estimated at all, so its recall is low)
    assert (psoas & (true == label_id("iliopsoas_left"))).sum() > 0.6 * psoas.sum()
