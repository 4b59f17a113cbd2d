"""Phantom options: intravenous contrast (the enhanced vessels and organs read in bone's HU range, as on
a real scan: Bae KT, Radiology 256(1), 2010; bone and labels unchanged), storage order, the
thoracolumbar field of view with 11, 12 or 13 rib pairs, scoliosis, isthmic spondylolisthesis and
osteophytes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from kambin.anatomy.labels import LABELS, label_id
from kambin.errors import InvalidInputError
from kambin.phantom import make_patient
from kambin.phantom.contrast import ENHANCED_HU


def _mask(labels, prefix):
    return np.isin(labels, [label.id for label in LABELS if label.name.startswith(prefix)])


@pytest.mark.parametrize("phase", ["arterial", "venous"])
def test_enhanced_structures_read_their_phase_hu_and_the_bone_is_unchanged(patient_factory, phase):
    plain, enhanced = patient_factory(0, 2.0), patient_factory(0, 2.0, contrast=phase)
    labels = enhanced.labels.voxels
    assert np.array_equal(labels, plain.labels.voxels)
    for prefix, hu in ENHANCED_HU[phase].items():
        core = ndi.binary_erosion(_mask(labels, prefix))  # away from the partial-volume edge
        if not core.any():
            continue  # a vein narrower than two voxels of this grid
        median = float(np.median(enhanced.ct.voxels[core]))
        assert abs(median - hu) < 0.25 * hu + 15, (phase, prefix, median, hu)
    vertebrae = _mask(labels, "vertebrae_")
    assert np.array_equal(
        enhanced.ct.voxels[vertebrae & ndi.binary_erosion(vertebrae, iterations=2)],
        plain.ct.voxels[vertebrae & ndi.binary_erosion(vertebrae, iterations=2)],
    )
    assert float(np.median(enhanced.ct.voxels[ndi.binary_erosion(_mask(labels, "aorta"))])) > 150


@pytest.mark.parametrize("storage", ["sagittal", "coronal"])
def test_storage_keeps_every_voxel_at_its_lps_position(patient_factory, storage):
    from kambin.imaging.grid import reorient_like

    axial, stored = patient_factory(0, 2.0), patient_factory(0, 2.0, storage=storage)
    assert stored.ct.shape_ijk != axial.ct.shape_ijk
    assert not np.allclose(stored.ct.direction_lps, np.eye(3))
    assert np.array_equal(reorient_like(stored.ct, axial.ct).voxels, axial.ct.voxels)
    assert np.array_equal(reorient_like(stored.labels, axial.labels).voxels, axial.labels.voxels)


@pytest.mark.parametrize("rib_pairs", [11, 12, 13])
def test_thoracic_option_puts_t11_t12_and_the_lowest_ribs_in_view(patient_factory, rib_pairs):
    """T11 and T12 above L1; ribs on T11 (11 pairs), T11 and T12 (12) or T11, T12 and L1 (13), each
    a piece of bone of its own (its joint space keeps it off its vertebra), reaching the flank, and
    all in the field of view; L1-S1 as the same seed without the option."""
    patient = patient_factory(0, 2.0, thoracic=True, rib_pairs=rib_pairs)
    labels = patient.labels.voxels
    assert {"T11", "T12"} <= set(patient.truth.vertebrae)
    bearing = {11: ["T11"], 12: ["T11", "T12"], 13: ["T11", "T12", "L1"]}[rib_pairs]
    bone = np.isin(labels, [label.id for label in LABELS if label.category == "bone"])
    pieces, _ = ndi.label(bone, structure=np.ones((3, 3, 3), bool))
    midline_x = patient.truth.vertebrae["L3"].body_centre_lps_mm[0]
    for number, vertebra in enumerate(bearing, start=11):
        for side in ("left", "right"):
            rib = labels == label_id(f"rib_{side}_{number}")
            assert rib.sum() > 100, (vertebra, side)
            # its own piece of bone: no voxel of it touches the vertebrae
            own = np.unique(pieces[rib])
            assert not np.isin(pieces[np.isin(labels, [label_id(f"vertebrae_{v}") for v in ("T11", "T12", "L1")])],
                               own).any(), (vertebra, side)
            points = patient.labels.ijk_to_lps(np.argwhere(rib))
            reach = np.abs(points[:, 0] - midline_x).max()
            assert reach > 60.0, (vertebra, side, reach)  # beyond any transverse process
            assert np.sign(points[:, 0] - midline_x).min() == np.sign(points[:, 0] - midline_x).max()
            k = np.argwhere(rib)[:, 2]
            assert k.min() > 0 and k.max() < labels.shape[2] - 1  # not cut by the field of view
    missing = {11: ["rib_left_12", "rib_right_12"], 12: ["rib_left_13"], 13: []}[rib_pairs]
    assert not np.isin(labels, [label_id(n) for n in missing]).any()
    plain = patient_factory(0, 2.0)
    for name in ("L1", "L3", "S1"):
        ours, theirs = patient.truth.vertebrae[name], plain.truth.vertebrae[name]
        assert ours.body_width_mm == theirs.body_width_mm and ours.body_height_mm == theirs.body_height_mm


def test_rib_pairs_need_the_thoracic_option_and_a_known_count():
    with pytest.raises(InvalidInputError, match="rib_pairs must be one of 11, 12, 13"):
        make_patient(0, thoracic=True, rib_pairs=14)
    with pytest.raises(InvalidInputError, match="needs thoracic=True"):
        make_patient(0, rib_pairs=11)


def test_sacralised_l5_fills_the_lumbosacral_disc_space_with_bone(patient_factory):
    plain, fused = patient_factory(0, 2.0), patient_factory(0, 2.0, sacralised_l5=True)
    assert np.array_equal(plain.labels.voxels, fused.labels.voxels)
    disc = ndi.binary_erosion(fused.labels.voxels == label_id("disc_L5_S1"))
    assert float(np.median(plain.ct.voxels[disc])) < 120 < float(np.median(fused.ct.voxels[disc]))


def test_osteoporosis_darkens_the_bodies_and_a_fracture_wedges_one(patient_factory):
    plain = patient_factory(0, 2.0)
    weak = patient_factory(0, 2.0, osteoporosis=True)
    broken = patient_factory(0, 2.0, fracture="L2")
    l3 = ndi.binary_erosion(plain.labels.voxels == label_id("vertebrae_L3"), iterations=3)
    assert float(np.median(weak.ct.voxels[l3])) < 110 < float(np.median(plain.ct.voxels[l3]))
    before, after = plain.truth.vertebrae["L2"], broken.truth.vertebrae["L2"]
    assert after.body_height_mm == pytest.approx(0.75 * before.body_height_mm)
    assert broken.truth.vertebrae["L4"].body_height_mm == plain.truth.vertebrae["L4"].body_height_mm
    with pytest.raises(InvalidInputError, match="fracture must be one of"):
        make_patient(0, fracture="S1")


def test_screws_are_metal_in_the_pedicles_joined_by_rods(patient_factory):
    patient = patient_factory(0, 2.0, screws=("L4", "L5"))
    labels = patient.labels.voxels
    metal = labels == label_id("metal")
    core = ndi.binary_erosion(metal)
    assert float(np.median(patient.ct.voxels[core])) > 2500
    pieces, count = ndi.label(metal, structure=np.ones((3, 3, 3), bool))
    assert count == 2  # the two screws and the rod of each side are one piece per side
    # the screws run through L4's and L5's pedicles and bodies: most of the metal replaced their bone
    plain = patient_factory(0, 2.0)
    assert np.isin(plain.labels.voxels[core], [label_id("vertebrae_L4"), label_id("vertebrae_L5")]).mean() > 0.5
    with pytest.raises(InvalidInputError, match="screws must be distinct lumbar vertebrae"):
        make_patient(0, screws=("S1",))


def _coronal_tilt_deg(normal) -> float:
    normal = np.asarray(normal)
    return float(np.degrees(np.arctan2(normal[0], normal[2])))


@pytest.mark.parametrize("cobb", [40.0, -25.0])
def test_scoliosis_bends_the_lumbar_spine_to_its_cobb_angle(patient_factory, cobb):
    """The Cobb angle between L1's upper and L5's lower endplate, measured on the truth, is the one
    asked for; the sign gives the side of the convexity (the apex, L3, shifted toward it); the
    sacrum stays level."""
    patient = patient_factory(0, 2.0, scoliosis=cobb)
    vertebrae = patient.truth.vertebrae
    measured = _coronal_tilt_deg(vertebrae["L5"].inferior_endplate_normal_lps) - _coronal_tilt_deg(
        vertebrae["L1"].superior_endplate_normal_lps
    )
    assert abs(measured - cobb) < 3.0, measured
    shift = vertebrae["L3"].body_centre_lps_mm[0] - patient_factory(0, 2.0).truth.vertebrae["L3"].body_centre_lps_mm[0]
    assert np.sign(shift) == np.sign(cobb) and abs(shift) > 5.0  # +x is the patient's left
    assert abs(_coronal_tilt_deg(vertebrae["S1"].superior_endplate_normal_lps)) < 1e-6
    with pytest.raises(InvalidInputError, match="Cobb angle must be 0 to 40"):
        make_patient(0, scoliosis=50.0)


def _slip_mm(patient, vertebra: str, lower: str) -> float:
    """How far `vertebra`'s inferior endplate centre lies in front of `lower`'s superior one, along
    that endplate (mm; the Meyerding measure's displacement)."""
    truth = patient.truth.vertebrae
    normal = np.asarray(truth[lower].superior_endplate_normal_lps)
    anterior = np.array([0.0, -normal[2], normal[1]]) / np.hypot(normal[1], normal[2])  # -P, in the endplate
    offset = np.asarray(truth[vertebra].inferior_endplate_centre_lps_mm) - np.asarray(
        truth[lower].superior_endplate_centre_lps_mm
    )
    return float(offset @ anterior)


@pytest.mark.parametrize(("vertebra", "lower", "percent"), [("L5", "S1", 40.0), ("L4", "L5", 20.0)])
def test_spondylolisthesis_slips_the_body_and_leaves_the_arch_behind(patient_factory, vertebra, lower, percent):
    """Isthmic spondylolisthesis: the body slips forward over the one below by the percentage of that
    one's endplate depth asked for (Meyerding), and its arch, cut off at the pars defect, stays: in
    the label map the slipped vertebra is two pieces of bone, the body with its pedicles and the loose
    arch with its spinous process, whose tip has not moved."""
    plain = patient_factory(0, 2.0)
    slipped = patient_factory(0, 2.0, spondylolisthesis=vertebra, slip_percent=percent)
    depth = slipped.truth.vertebrae[lower].body_depth_mm
    measured = 100.0 * (_slip_mm(slipped, vertebra, lower) - _slip_mm(plain, vertebra, lower)) / depth
    assert abs(measured - percent) < 1.0, measured
    tip = np.asarray(slipped.truth.vertebrae[vertebra].spinous_process_tip_lps_mm)
    assert np.linalg.norm(tip - np.asarray(plain.truth.vertebrae[vertebra].spinous_process_tip_lps_mm)) < 1.0
    for patient, count in ((plain, 1), (slipped, 2)):
        pieces, _ = ndi.label(patient.labels.voxels == label_id(f"vertebrae_{vertebra}"))
        sizes = np.bincount(pieces.ravel())[1:]
        assert (sizes > 500).sum() == count, sizes
    pieces, _ = ndi.label(slipped.labels.voxels == label_id(f"vertebrae_{vertebra}"))
    ijk = np.argwhere(pieces > 0)
    points = slipped.ct.voxel_to_lps[:3, :3] @ ijk.T + slipped.ct.voxel_to_lps[:3, 3:]

    def piece_nearest(point):
        return pieces[tuple(ijk[np.argmin(np.linalg.norm(points.T - point, axis=1))])]

    assert piece_nearest(np.asarray(slipped.truth.vertebrae[vertebra].body_centre_lps_mm)) != piece_nearest(tip)
    for bad, message in (({"spondylolisthesis": "S1"}, "must name a vertebra above another"),
                         ({"spondylolisthesis": "L5", "slip_percent": 60.0}, "at most 50 %")):
        with pytest.raises(InvalidInputError, match=message):
            make_patient(0, **bad)


def _face_contacts(labels: np.ndarray, first: int, second: int) -> int:
    """Voxel faces where `first` meets `second` (either way round), along the three axes."""
    count = 0
    for axis in range(3):
        a = np.moveaxis(labels, axis, 0)
        count += int(((a[:-1] == first) & (a[1:] == second)).sum() + ((a[:-1] == second) & (a[1:] == first)).sum())
    return count


def _front_contacts(patient, upper: str, lower: str) -> int:
    """`_face_contacts` of two vertebrae in front of the lower one's posterior wall (so not at the
    facet joints, which a 2 mm grid samples across their 1.6 mm space)."""
    body = patient.truth.vertebrae[lower]
    y_mm = patient.ct.voxel_to_lps[1, 3] + patient.ct.voxel_to_lps[1, 1] * np.arange(patient.ct.voxels.shape[1])
    in_front = y_mm < body.body_centre_lps_mm[1] + 0.4 * body.body_depth_mm  # +y is posterior
    front = np.where(in_front[None, :, None], patient.labels.voxels, 0)
    return _face_contacts(front, label_id(f"vertebrae_{upper}"), label_id(f"vertebrae_{lower}"))


def test_osteophytes_grow_from_the_rims_and_bridge_two_discs(patient_factory):
    """Marginal osteophytes: every lumbar vertebra gains bone outside its body, in front and at the
    sides and not behind (the canal is left as it was); with bridging, L3's bone meets L2's and L4's
    across their discs (the bridges), as no vertebra's bone meets its neighbour's without them."""
    plain = patient_factory(0, 2.0)
    for mode in ("spurs", "bridging"):
        grown = patient_factory(0, 2.0, osteophytes=mode)
        for name in ("L1", "L2", "L3", "L4", "L5"):
            new = (grown.labels.voxels == label_id(f"vertebrae_{name}")) & (
                plain.labels.voxels != label_id(f"vertebrae_{name}")
            )
            assert new.sum() > 100, (mode, name, new.sum())  # 0.8 cm^3: L1 has one rim in view
            body = grown.truth.vertebrae[name]
            points = grown.ct.voxel_to_lps[:3, :3] @ np.argwhere(new).T + grown.ct.voxel_to_lps[:3, 3:]
            behind = points[1] > body.body_centre_lps_mm[1] + 0.5 * body.body_depth_mm  # +y is posterior
            assert behind.mean() < 0.02, (mode, name, behind.mean())
            assert grown.bone_sdf(points.T).max() < 0.5  # the analytic bone the tests plan against has them
        bridged = mode == "bridging"
        assert (_front_contacts(grown, "L2", "L3") > 20) == bridged
        assert (_front_contacts(grown, "L3", "L4") > 20) == bridged
    assert _front_contacts(plain, "L2", "L3") == 0 and _front_contacts(plain, "L3", "L4") == 0
    with pytest.raises(InvalidInputError, match="osteophytes must be one of"):
        make_patient(0, osteophytes="lots")
