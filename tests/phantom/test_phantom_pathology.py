"""Every pathology option makes its change where it should, and nowhere else; same seed and
options give identical arrays, another seed another patient."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.anatomy.labels import label_id
from kambin.phantom.spine import SIDES

SPACING = 2.0


def test_same_seed_same_arrays_other_seed_other_patient(patient_factory):
    from kambin.phantom import make_patient

    a = make_patient(7, spacing_mm=(4.0, 4.0, 4.0), pathology="paracentral-herniation", side="right")
    b = make_patient(7, spacing_mm=(4.0, 4.0, 4.0), pathology="paracentral-herniation", side="right")
    np.testing.assert_array_equal(a.ct.voxels, b.ct.voxels)
    np.testing.assert_array_equal(a.labels.voxels, b.labels.voxels)
    assert a.truth == b.truth
    c = make_patient(8, spacing_mm=(4.0, 4.0, 4.0), pathology="paracentral-herniation", side="right")
    assert c.truth.vertebrae["L4"].body_width_mm != a.truth.vertebrae["L4"].body_width_mm
    assert c.truth.levels["L4-L5"].left.kambin_triangle_lps_mm != a.truth.levels["L4-L5"].left.kambin_triangle_lps_mm
    assert a.ct.shape_ijk != c.ct.shape_ijk or not np.array_equal(a.ct.voxels, c.ct.voxels)


def _disc_local(patient, level, point):
    """(u, v, w) of a point in the disc frame, with u made positive toward the pathology side."""
    disc = patient.spine.discs[level]
    return disc.frame.local_points(np.asarray(point)[None])[0]


ZONES = {"central": (0.0, 3.0), "paracentral": (4.0, 11.0), "foraminal": (11.0, 26.0), "extraforaminal": (26.0, 45.0)}


@pytest.mark.parametrize(
    ("zone", "level", "side"),
    [
        ("central", "L4-L5", "left"),
        ("paracentral", "L5-S1", "right"),
        ("foraminal", "L3-L4", "left"),
        ("extraforaminal", "L4-L5", "right"),
    ],
)
def test_herniation_sits_at_its_level_zone_and_side(patient_factory, zone, level, side):
    p = patient_factory(0, SPACING, pathology=f"{zone}-herniation", level=level, side=side)
    h = p.truth.herniation
    assert (h.level, h.side, h.zone) == (level, side, zone)
    u, v, w = _disc_local(p, level, h.centroid_lps_mm)
    s = SIDES[side]
    lo, hi = ZONES[zone]
    assert lo <= s * u <= hi or (zone == "central" and abs(u) <= hi), (zone, u)
    assert abs(w) < p.spine.discs[level].height_mm / 2 + 2.0  # at the disc, not migrated
    disc = p.spine.discs[level]
    assert v > disc.v_posterior_mm - 6.0  # posterior (into the canal or foramen) or posterolateral
    # The label map has the fragment there, and nowhere near another level.
    ijk = np.argwhere(p.labels.voxels == label_id("disc_herniation"))
    assert len(ijk) * SPACING**3 > 60.0
    centroid = p.labels.ijk_to_lps(ijk).mean(axis=0)
    assert np.linalg.norm(centroid - np.array(h.centroid_lps_mm)) < 4.0
    others = [lv for lv in p.truth.levels if lv != level]
    for other in others:
        assert np.linalg.norm(centroid - np.array(p.truth.levels[other].disc.centre_lps_mm)) > 20.0
    # Side: LPS x is positive toward the patient's left.
    if zone != "central":
        assert np.sign(centroid[0]) == s


def test_herniation_displaces_the_root_it_compresses(patient_factory):
    base = patient_factory(0, SPACING)
    para = patient_factory(0, SPACING, pathology="paracentral-herniation", level="L4-L5", side="left")
    fora = patient_factory(0, SPACING, pathology="foraminal-herniation", level="L4-L5", side="left")

    def shift(a, b, key):
        pa, pb = a.roots[key].points_lps_mm, b.roots[key].points_lps_mm
        return float(np.linalg.norm(pa - pb, axis=1).max())

    assert shift(base, para, ("L5", "left")) > 1.0  # traversing root pushed
    assert shift(base, para, ("L5", "right")) < 1e-6
    assert shift(base, fora, ("L4", "left")) > 1.0  # exiting root pushed
    near = (
        np.linalg.norm(np.array(para.truth.dural_sac.centerline_lps_mm) - para.truth.herniation.centroid_lps_mm, axis=1)
        < 12
    )
    assert near.any()
    assert (
        np.array(para.truth.dural_sac.radius_mm)[near] < np.array(base.truth.dural_sac.radius_mm)[near]
    ).any()  # sac indented
    for patient in (para, fora):
        for key, tube in patient.roots.items():
            lesion = patient.lesions[0]
            assert (lesion.sdf_points(tube.points_lps_mm) - tube.radii_mm).min() > 0.0, key


@pytest.mark.parametrize(("migration", "sign"), [("cranial", 1.0), ("caudal", -1.0)])
def test_migrated_fragment_moves_up_or_down(patient_factory, migration, sign):
    base = patient_factory(0, SPACING, pathology="paracentral-herniation")
    moved = patient_factory(0, SPACING, pathology="paracentral-herniation", migration=migration)
    w0 = _disc_local(base, "L4-L5", base.truth.herniation.centroid_lps_mm)[2]
    w1 = _disc_local(moved, "L4-L5", moved.truth.herniation.centroid_lps_mm)[2]
    assert sign * (w1 - w0) > 5.0
    assert moved.truth.herniation.migration == migration


def test_foraminal_stenosis_narrows_that_foramen(patient_factory):
    base = patient_factory(0, SPACING)
    sten = patient_factory(0, SPACING, pathology="foraminal-stenosis", level="L4-L5", side="right")
    b, s = base.truth.levels["L4-L5"], sten.truth.levels["L4-L5"]
    assert s.right.foramen_height_mm <= b.right.foramen_height_mm - 3.0
    assert s.right.foramen_height_mm <= 17.0  # toward Hasegawa's 15 mm
    assert s.disc.posterior_height_mm <= 5.0  # Hasegawa's critical 4 mm
    assert s.right.foramen_area_mm2 < 0.8 * b.right.foramen_area_mm2
    assert s.right.foramen_area_mm2 < s.left.foramen_area_mm2  # the osteophyte is on the right
    for level in ("L1-L2", "L2-L3", "L3-L4"):
        assert (
            abs(sten.truth.levels[level].right.foramen_height_mm - base.truth.levels[level].right.foramen_height_mm)
            < 0.6
        )
    ost = np.argwhere(sten.labels.voxels == label_id("facet_hypertrophy"))
    assert len(ost) > 0
    centre = sten.labels.ijk_to_lps(ost).mean(axis=0)
    assert centre[0] < 0  # right side (LPS x toward the left)
    assert np.linalg.norm(centre - np.array(s.right.foramen_centre_lps_mm)) < 25.0
    assert sten.truth.pathology.kind == "foraminal-stenosis"


def test_high_iliac_crest_rises_above_the_l5_s1_disc_and_blocks_the_approach(patient_factory, transforaminal_paths):
    base = patient_factory(0, 3.0)
    high = patient_factory(0, 3.0, pathology="high-iliac-crest")
    assert high.truth.iliac_crest.top_above_l5_s1_disc_mm >= base.truth.iliac_crest.top_above_l5_s1_disc_mm + 20.0
    l4 = high.truth.vertebrae["L4"].body_centre_lps_mm[2]
    assert high.truth.iliac_crest.top_lps_mm["left"][2] > l4  # above the middle of L4
    # In the label map too: hip bone above the L4-L5 disc.
    hips = np.argwhere(np.isin(high.labels.voxels, [label_id("hip_left"), label_id("hip_right")]))
    top = high.labels.ijk_to_lps(hips)[:, 2].max()
    assert top > high.truth.levels["L4-L5"].disc.centre_lps_mm[2] + 10.0
    for side in ("left", "right"):
        assert transforaminal_paths(base, "L5-S1", side), side
        assert not transforaminal_paths(high, "L5-S1", side), side


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_transforaminal_path_is_open_at_every_level_of_a_normal_patient(patient_factory, transforaminal_paths, seed):
    p = patient_factory(seed, 3.0)
    for level in p.truth.levels:
        for side in ("left", "right"):
            assert transforaminal_paths(p, level, side), (seed, level, side)
