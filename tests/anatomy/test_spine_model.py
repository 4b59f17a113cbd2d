"""SpineModel against the synthetic patient's ground truth (issue 4's floors).

Asserted: every landmark within 1.5 mm and Kambin's inscribed-circle diameter within 1 mm of the
truth, measured from the truth's bone labels only (vertebrae, sacrum, hips: what a good segmentation
gives); from `segment_spine`'s labels (the CT alone) the same figures are measured and held to
the bounds the current segmentation allows (see bench/bench_anatomy.py for the sweep).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from kambin.anatomy.labelled_vertebrae import bone_names, measure_vertebrae
from kambin.anatomy.labels import label_id
from kambin.anatomy.metrics import carries_label
from kambin.anatomy.segmentation import segment_spine
from kambin.anatomy.spine_model import SpineModel, _vertebra_model, build_spine_model
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume
from kambin.phantom import make_patient

# Slow (a 1 mm phantom segmented and modelled: over a minute): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow

LUMBAR = ("L1", "L2", "L3", "L4", "L5")
BONE_IDS = (25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 77, 78, 246)  # 246: facet osteophyte, bone on CT


def bone_only(patient):
    voxels = np.asarray(patient.labels.voxels)
    return patient.labels.with_voxels(np.where(np.isin(voxels, BONE_IDS), voxels, 0).astype(np.uint8))


def landmark_errors(model: SpineModel, truth, names=LUMBAR) -> dict[str, list[float]]:
    """Distance (mm) of each landmark to the truth, by kind."""
    out: dict[str, list[float]] = {
        k: [] for k in ("body_centre", "endplate_centre", "pedicle_centre", "sap_tip", "spinous_tip")
    }
    for name in names:
        m, t = model.vertebrae[name], truth.vertebrae[name]

        def d(a, b):
            return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))

        out["body_centre"].append(d(m.body_centre_lps_mm, t.body_centre_lps_mm))
        out["endplate_centre"].append(d(m.superior_endplate_centre_lps_mm, t.superior_endplate_centre_lps_mm))
        out["endplate_centre"].append(d(m.inferior_endplate_centre_lps_mm, t.inferior_endplate_centre_lps_mm))
        for side in ("left", "right"):
            if side in m.pedicles:
                out["pedicle_centre"].append(d(m.pedicles[side].centre_lps_mm, t.pedicles[side].centre_lps_mm))
            if side in t.superior_articular_process_tip_lps_mm and side in m.superior_articular_process_tip_lps_mm:
                out["sap_tip"].append(
                    d(m.superior_articular_process_tip_lps_mm[side], t.superior_articular_process_tip_lps_mm[side])
                )
        if m.spinous_process_tip_lps_mm is not None:
            out["spinous_tip"].append(d(m.spinous_process_tip_lps_mm, t.spinous_process_tip_lps_mm))
    return out


def inscribed_errors(model: SpineModel, truth, levels) -> list[float]:
    return [
        abs(
            getattr(model.levels[lv], side).kambin_triangle.inscribed_diameter_mm
            - getattr(truth.levels[lv], side).kambin_triangle_inscribed_diameter_mm
        )
        for lv in levels
        for side in ("left", "right")
    ]


@pytest.fixture(scope="module")
def herniated():
    patient = make_patient(21, pathology="paracentral-herniation", level="L4-L5", side="left")
    from_truth = build_spine_model(patient.ct, bone_only(patient))
    ct_labels = segment_spine(patient.ct).labels
    from_ct = build_spine_model(patient.ct, ct_labels)
    return patient, from_truth, from_ct, ct_labels


@pytest.fixture(scope="module")
def anisotropic():
    """Landmarks only (the vertebra part of the SpineModel), to keep the test time down."""
    patient = make_patient(22, spacing_mm=(0.8, 0.8, 1.5), habitus="slim")
    labels = bone_only(patient)
    vertebrae = measure_vertebrae(labels, bone_names(labels, None))
    canal = {"area_mm2": None, "centre_lps_mm": [0.0, 0.0, 0.0]}
    model = SpineModel.model_construct(vertebrae={n: _vertebra_model(v, canal) for n, v in vertebrae.items()})
    return patient, model


def test_bad_inputs_raise_one_line_errors(herniated):
    patient = herniated[0]
    shifted = Volume(np.asarray(patient.labels.voxels)[1:].copy(), patient.labels.voxel_to_lps)
    with pytest.raises(InvalidInputError, match="grid"):
        build_spine_model(patient.ct, shifted)
    empty = patient.labels.with_voxels(np.zeros(patient.labels.shape_ijk, np.uint8))
    with pytest.raises(InvalidInputError, match="no vertebra"):
        build_spine_model(patient.ct, empty)


@pytest.mark.parametrize("which", ["herniated", "anisotropic"])
def test_landmarks_from_truth_bone_within_1_5_mm(which, request):
    patient, model = request.getfixturevalue(which)[:2]
    errors = landmark_errors(model, patient.truth)
    worst = {kind: round(max(values), 2) for kind, values in errors.items()}
    # every landmark of every kind within issue 4's 1.5 mm, and every one found (both SAPs of L2-L5, the
    # SAPs the truth lists; a spinous tip on each of L1-L5)
    assert all(value < 1.5 for value in worst.values()), worst
    assert len(errors["sap_tip"]) == 8 and len(errors["spinous_tip"]) == 5, {k: len(v) for k, v in errors.items()}


def test_kambin_inscribed_circle_from_truth_bone_within_1_mm(herniated):
    patient, model = herniated[:2]
    levels = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
    errors = dict(
        zip(
            [(lv, side) for lv in levels for side in ("left", "right")],
            inscribed_errors(model, patient.truth, levels),
            strict=True,
        )
    )
    # every level within 1 mm, L5-S1 included (its 1-2 mm came from S1's frame, tilted by taking the
    # label's cut under S1 for an endplate), and the herniated side too, whose triangle is bounded by roots
    # estimated around the fragment (soft_tissue_estimates): 0.41 mm with the fragment displacing the
    # traversing root as one piece in the phantom and the estimate alike (`displace_around`; 0.17 with
    # each point pushed on its own, which is unstable elsewhere: bench patient 9, 2.08); mean 0.15 (0.13)
    assert max(errors.values()) < 1.0, errors
    assert np.mean(list(errors.values())) < 0.4, errors


def tip_errors_where_labelled_own(model: SpineModel, truth, labels: Volume, names) -> dict[str, list[float]]:
    """Tip errors (mm) of the processes whose bone 1.5 mm inside the true tip carries their own
    vertebra's label in `labels` (a tip cannot be right where the segmentation gives its process to a
    neighbour)."""

    def own(point, inward, name) -> bool:
        return carries_label(labels, point, inward, label_id(f"vertebrae_{name}"))

    out: dict[str, list[float]] = {"sap_tip": [], "spinous_tip": []}
    for name in names:
        m, t = model.vertebrae[name], truth.vertebrae[name]
        down, front = -np.asarray(m.axes_lps[2]), -np.asarray(m.axes_lps[1])
        for side, tip in t.superior_articular_process_tip_lps_mm.items():
            if own(tip, down, name):
                found = m.superior_articular_process_tip_lps_mm.get(side)
                out["sap_tip"].append(np.inf if found is None else float(np.linalg.norm(np.subtract(found, tip))))
        if t.spinous_process_tip_lps_mm is not None and own(t.spinous_process_tip_lps_mm, front, name):
            found = m.spinous_process_tip_lps_mm
            out["spinous_tip"].append(
                np.inf if found is None else float(np.linalg.norm(np.subtract(found, t.spinous_process_tip_lps_mm)))
            )
    return out


def test_from_ct_alone_landmarks_and_triangle(herniated):
    """Through segment_spine: every landmark of L1-L5 within issue 4's 1.5 mm and every process tip
    found, each on its own vertebra's bone."""
    patient, _, from_ct, ct_labels = herniated
    errors = landmark_errors(from_ct, patient.truth, LUMBAR)
    worst = {kind: round(max(values), 2) for kind, values in errors.items()}
    # reached: body 0.49, endplates 0.70, pedicles 0.55, SAP tips 0.59, spinous tips 0.53 mm (before the
    # phantom kept its vertebrae apart, the tips were checked only where segment_spine gave the process
    # its own vertebra's label: half the SAPs were fused to the vertebra above)
    assert all(value < 1.5 for value in worst.values()), worst
    assert len(errors["sap_tip"]) == 8 and len(errors["spinous_tip"]) == 5, {k: len(v) for k, v in errors.items()}
    own = tip_errors_where_labelled_own(from_ct, patient.truth, ct_labels, LUMBAR)
    assert len(own["sap_tip"]) == 8 and len(own["spinous_tip"]) == 5, own
    levels = ("L2-L3", "L3-L4", "L4-L5")
    ins = dict(
        zip(
            [(lv, side) for lv in levels for side in ("left", "right")],
            inscribed_errors(from_ct, patient.truth, levels),
            strict=True,
        )
    )
    # Every side within issue 4's 1 mm, the herniated one included: 0.23 there (0.96 with the root pushed
    # point by point out of the fragment found, which goes either way: bench patient 9, 2.08), 0.24
    # elsewhere (0.40). The herniated side was held to 2.0 until the fragment displaced the root as one
    # piece and its partial-volume rim was judged on the unsmoothed CT (herniation.py).
    assert max(ins.values()) < 1.0, ins


def test_discs_foramina_and_crest_against_truth(herniated):
    patient, model = herniated[:2]
    truth = patient.truth
    for level, lv in model.levels.items():
        t = truth.levels[level]
        assert np.linalg.norm(np.asarray(lv.disc.centre_lps_mm) - t.disc.centre_lps_mm) < 1.5
        assert abs(lv.disc.height_mm - t.disc.height_mm) < 1.5
        if level != "L5-S1":
            for side in ("left", "right"):
                assert abs(getattr(lv, side).foramen.height_mm - getattr(t, side).foramen_height_mm) < 2.5
        assert lv.skin_depth_mm is not None and 40.0 < lv.skin_depth_mm < 250.0
        assert lv.canal_area_mm2 is not None and lv.canal_area_mm2 > 100.0  # no central stenosis here
    for side in ("left", "right"):
        top = np.asarray(model.iliac_crest_top_lps_mm[side])
        assert np.linalg.norm(top - truth.iliac_crest.top_lps_mm[side]) < 3.0


def test_model_is_json_round_trip_with_estimates_and_disclaimer(herniated):
    model = herniated[1]
    data = json.loads(model.model_dump_json())
    assert "not a medical device" in data["disclaimer"].lower()
    again = SpineModel.model_validate(data)
    assert again.levels["L4-L5"].left.kambin_triangle == model.levels["L4-L5"].left.kambin_triangle
    assert "nerve_root_L4_left" in data["estimates"] and "dural_sac" in data["estimates"]
    assert all(e["uncertainty_mm"] > 0 for e in data["estimates"].values())
