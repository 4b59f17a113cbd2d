"""The synthetic patient against published ranges: Hounsfield units per tissue and lumbar
morphometry, measured on the CT and label map it writes, and its truth against its labels.

Ranges: HU from standard CT references (Bushberg et al. 2012, table 10-2; Lamba et al., Abdom
Imaging 2014; Pickhardt et al., Ann Intern Med 2013 for trabecular bone); vertebral body and
canal from Panjabi et al., Spine 1992; pedicles from Zindrick et al., Spine 1987; disc height
from Twomey & Taylor 1985 and Roberts et al. 1997; foraminal height from Hasegawa et al.,
JBJS Am 1995; Kambin's triangle from Kumari et al., Anat Cell Biol 2021 and Pairaiturkar et al.,
J Korean Neurosurg Soc 2019.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from kambin.anatomy.labels import LABELS, label_id
from kambin.phantom.morphometry import MOTION_LEVELS

# Slow (phantoms at 1 mm: 20 s of set-up): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow

LEVELS = MOTION_LEVELS


def _core(patient, *names, erode: int = 2):
    mask = np.isin(patient.labels.voxels, [label_id(n) for n in names])
    return ndimage.binary_erosion(mask, iterations=erode) if erode else mask


@pytest.mark.parametrize(
    ("names", "low", "high", "erode"),
    [
        (("subcutaneous_fat",), -130.0, -70.0, 2),  # fat
        (("autochthon_left", "autochthon_right", "iliopsoas_left", "iliopsoas_right"), 30.0, 60.0, 2),  # muscle
        (("dural_sac",), -5.0, 25.0, 1),  # cerebrospinal fluid
        (("disc_L2_L3", "disc_L3_L4", "disc_L4_L5"), 50.0, 110.0, 2),  # intervertebral disc
    ],
)
def test_soft_tissue_hu_medians_are_in_the_cited_ranges(default_patient, names, low, high, erode):
    values = default_patient.ct.voxels[_core(default_patient, *names, erode=erode)]
    assert values.size > 200
    assert low <= np.median(values) <= high, np.median(values)


def test_air_fat_muscle_spread_looks_like_a_real_scan(default_patient):
    ct, labels = default_patient.ct.voxels, default_patient.labels.voxels
    air = ct[:, :5, :]  # in front of the patient
    assert -1010 <= np.median(air) <= -985
    muscle = ct[_core(default_patient, "iliopsoas_left", "iliopsoas_right", erode=3)]
    # Image noise of a routine abdominal CT: 8-30 HU SD within one muscle.
    assert 8.0 <= muscle.std() <= 30.0
    assert labels.dtype == np.uint8 and ct.dtype == np.int16


def test_bone_hu_cortical_and_cancellous(default_patient):
    truth = default_patient.truth
    ct = default_patient.ct
    for name in ("L2", "L3", "L4"):
        centre = np.array(truth.vertebrae[name].body_centre_lps_mm)
        ijk = np.round(ct.lps_to_ijk(centre)).astype(int)
        core = ct.voxels[ijk[0] - 5 : ijk[0] + 6, ijk[1] - 5 : ijk[1] + 6, ijk[2] - 4 : ijk[2] + 5]
        # Trabecular bone of adult lumbar bodies: 100-350 HU (Pickhardt 2013: > 160 rarely osteoporotic).
        assert 100 <= np.median(core) <= 350, (name, np.median(core))
    bone = ct.voxels[_core(default_patient, "vertebrae_L3", "vertebrae_L4", erode=0)]
    # Cortical bone 1000-1900 HU; at 1 mm voxels the densest posterior elements reach it.
    assert 1000 <= np.percentile(bone, 99.5) <= 1900


def test_label_ids_come_from_the_registry(default_patient):
    ids = set(np.unique(default_patient.labels.voxels).tolist()) - {0}
    assert ids <= {lab.id for lab in LABELS}
    expected = {f"vertebrae_{v}" for v in ("L1", "L2", "L3", "L4", "L5", "S1")} | {
        "sacrum",
        "dural_sac",
        "cauda_equina",
        "hip_left",
        "hip_right",
        "kidney_left",
        "kidney_right",
        "iliopsoas_left",
        "autochthon_right",
        "skin",
        "subcutaneous_fat",
        "peritoneal_cavity",
        "small_bowel",
        "epidural_fat",
        "ligamentum_flavum",
    }
    expected |= {f"disc_{lv.replace('-', '_')}" for lv in LEVELS}
    expected |= {f"nerve_root_{v}_{s}" for v in ("L1", "L2", "L3", "L4", "L5", "S1") for s in ("left", "right")}
    assert {label_id(n) for n in expected} <= ids
    assert default_patient.label_sidecar() == {
        str(i): next(lab.name for lab in LABELS if lab.id == i) for i in sorted(ids)
    }


def _local(points, centre, axes):
    return (np.asarray(points) - centre) @ axes


def test_l4_body_and_pedicle_measured_on_the_label_map(default_patient):
    p = default_patient
    v = p.truth.vertebrae["L4"]
    centre = np.array(v.body_centre_lps_mm)
    up = np.array(v.superior_endplate_normal_lps)
    left = np.array([1.0, 0.0, 0.0])
    post = np.cross(up, left)
    axes = np.stack([left, post, up], axis=1)
    ijk = np.argwhere(p.labels.voxels == label_id("vertebrae_L4"))
    uvw = _local(p.labels.ijk_to_lps(ijk), centre, axes)
    mid = np.abs(uvw[:, 2]) < 2.0
    row = mid & (np.abs(uvw[:, 1]) < 1.0)
    width = np.ptp(uvw[row, 0]) + 1.0
    column = mid & (np.abs(uvw[:, 0]) < 1.0) & (uvw[:, 1] < v.body_depth_mm / 2 + 2)
    depth = np.ptp(uvw[column, 1]) + 1.0
    # Panjabi 1992, L4: endplate width about 48 mm, depth about 35 mm (+- 2 SD and a voxel).
    assert 40.0 <= width <= 57.0 and abs(width - v.body_width_mm) <= 3.0, width
    assert 29.0 <= depth <= 42.0 and abs(depth - v.body_depth_mm) <= 3.0, depth
    # Pedicle isthmus width across its axis (Zindrick 1987, L4 12.9 +- 2.5 mm).
    ped = v.pedicles["left"]
    pc, axis = np.array(ped.centre_lps_mm), np.array(ped.axis_lps)
    across = np.cross(up, axis)
    across /= np.linalg.norm(across)
    pedicle_axes = np.stack([across, axis, np.cross(across, axis)], axis=1)
    loc = _local(p.labels.ijk_to_lps(ijk), pc, pedicle_axes)
    band = (np.abs(loc[:, 1]) < 1.0) & (np.abs(loc[:, 2]) < 1.0) & (np.abs(loc[:, 0]) < 12)
    measured = np.ptp(loc[band, 0]) + 1.0
    assert 8.0 <= measured <= 17.0 and abs(measured - ped.width_mm) <= 2.5, measured


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_levels_match_published_morphometry(patient_factory, seed):
    truth = patient_factory(seed, 3.0).truth
    for level in LEVELS:
        lv = truth.levels[level]
        assert 6.5 <= lv.disc.height_mm <= 15.0, (level, lv.disc.height_mm)  # Twomey 1985, Roberts 1997
        assert lv.disc.anterior_height_mm > lv.disc.posterior_height_mm >= 4.0  # lordotic wedge
        for side in ("left", "right"):
            s = getattr(lv, side)
            assert 15.0 <= s.foramen_height_mm <= 27.0, (level, s.foramen_height_mm)  # Hasegawa 1995
            assert 8.0 <= s.kambin_triangle_base_mm <= 24.0, (level, s.kambin_triangle_base_mm)
            assert 8.0 <= s.kambin_triangle_height_mm <= 20.0, (level, s.kambin_triangle_height_mm)
            # Inscribed circle 5.7-8.2 mm (Kumari 2021), up to 9.7 mm (Pairaiturkar 2019).
            assert 5.0 <= s.kambin_triangle_inscribed_diameter_mm <= 11.0, (
                level,
                s.kambin_triangle_inscribed_diameter_mm,
            )
    l4 = truth.vertebrae["L4"]
    assert 40.0 <= l4.body_width_mm <= 56.0 and 30.0 <= l4.body_depth_mm <= 41.0
    assert 9.0 <= l4.pedicles["left"].width_mm <= 17.0


def test_disc_height_on_the_label_map_matches_truth(default_patient):
    p = default_patient
    for level in ("L3-L4", "L4-L5"):
        disc = p.truth.levels[level].disc
        c, n = np.array(disc.centre_lps_mm), np.array(disc.normal_lps)
        samples = c + np.arange(-15, 15, 0.25)[:, None] * n
        ijk = np.round(p.labels.lps_to_ijk(samples)).astype(int)
        inside = p.labels.voxels[ijk[:, 0], ijk[:, 1], ijk[:, 2]] == disc.label_id
        measured = inside.sum() * 0.25
        # The label includes the endplate concavities (1.4 mm each side at the centre).
        assert abs(measured - (disc.height_mm + 2 * 1.4)) <= 2.0, (level, measured, disc.height_mm)


def test_root_and_sac_truth_agree_with_the_label_map(coarse_patient):
    p = coarse_patient
    lab = p.labels
    for key in (("L4", "left"), ("L5", "right"), ("S1", "left")):
        tube = p.roots[key]
        ids = label_id(tube.name)
        ijk = np.argwhere(lab.voxels == ids)
        inside = tube.sdf_points(lab.ijk_to_lps(ijk))
        assert (inside < 1e-6).mean() >= 0.999  # every labelled voxel lies in the truth tube
        lo, hi = tube.bbox_lps()
        i0 = np.maximum(np.floor(lab.lps_to_ijk(lo)).astype(int), 0)
        i1 = np.minimum(np.ceil(lab.lps_to_ijk(hi)).astype(int) + 1, lab.shape_ijk)
        box = np.argwhere(np.ones(tuple(i1 - i0), bool)) + i0
        centres_inside = box[tube.sdf_points(lab.ijk_to_lps(box)) < 0]
        got = lab.voxels[centres_inside[:, 0], centres_inside[:, 1], centres_inside[:, 2]]
        hit = (got == ids) | np.isin(
            got, [label_id(f"nerve_root_{v}_{s}") for v in ("L4", "L5", "S1") for s in ("left", "right")]
        )
        assert hit.mean() >= 0.97  # and every voxel centre in the tube is labelled (as it or a root painted after)
    sac = p.dural_sac
    ijk = np.argwhere(np.isin(lab.voxels, [label_id("dural_sac")]))
    assert (sac.sdf_points(lab.ijk_to_lps(ijk)) < 1e-6).all()


def test_roots_stay_out_of_bone_and_exit_under_the_pedicle(coarse_patient):
    p = coarse_patient
    for (name, side), tube in p.roots.items():
        clearance = p.bone_sdf(tube.points_lps_mm) - tube.radii_mm
        assert clearance.min() > 0.0, (name, side, clearance.min())
    for level in LEVELS[:-1]:
        upper = level.split("-")[0]
        for side in ("left", "right"):
            s = getattr(p.truth.levels[level], side)
            ped = p.truth.vertebrae[upper].pedicles[side]
            g = np.array(s.exiting_root_ganglion_lps_mm)
            up = np.array(p.truth.vertebrae[upper].superior_endplate_normal_lps)
            below = (np.array(ped.centre_lps_mm) - g) @ up
            # The ganglion is under the pedicle, in the upper part of the foramen.
            assert ped.height_mm / 2 < below < ped.height_mm / 2 + 10.0, (level, side, below)
            assert (g - np.array(s.foramen_centre_lps_mm)) @ up > -2.0


def test_neighbouring_vertebrae_meet_only_across_a_joint_space(default_patient):
    """No bone of one vertebra touches its neighbour's (`vertebra.NEIGHBOUR_CLEARANCE_MM`): facet
    joints, laminae and articular process tips all keep a space the CT can show."""
    labels = np.asarray(default_patient.labels.voxels)
    names = ("L1", "L2", "L3", "L4", "L5", "S1")
    for upper, lower in zip(names, names[1:], strict=False):
        grown = ndimage.binary_dilation(labels == label_id(f"vertebrae_{upper}"), iterations=1)
        touching = int((grown & (labels == label_id(f"vertebrae_{lower}"))).sum())
        assert touching == 0, f"{upper} touches {lower} at {touching} voxels"
