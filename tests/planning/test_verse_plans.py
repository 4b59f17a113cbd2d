"""Plans on real CTs: the VerSe crops (Sekuboyina et al., Med Image Anal 2021; CC BY-SA 4.0), planned
from kambin's own segmentation of the CT (with the naming hint these crops need) and the soft tissue
estimated from it, then checked against the expert bone masks, which the planner never sees.

The crops do not show the skin: each plan must say so and mark its entry as estimated.
"""

import numpy as np
import pytest

from kambin.imaging import read_volume
from kambin.planning.models import PlanRequest
from kambin.planning.planner import plan
from kambin.workflows.plan_ct import planning_anatomy
from kambin.workflows.synthetic_check import BONE_TOLERANCE_MM3
from kambin.workflows.validation import bone_crossed_mm3

# Subject, its lowest vertebra wholly in view (the hint), the lumbar levels in view.
CASES = [("sub-verse006", "L5", ("L4-L5",)), ("sub-verse007", "L3", ("L1-L2", "L2-L3"))]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def verse_case(request, shared_data):
    subject, lowest, levels = request.param
    folder = shared_data / "ct" / "verse"
    ct = read_volume(folder / f"{subject}_ct.nii.gz")
    expert = read_volume(folder / f"{subject}_seg-vert_msk.nii.gz")
    anatomy = planning_anatomy(ct, lowest=lowest)
    return ct, expert.with_voxels(np.asarray(expert.voxels) > 0), anatomy, levels


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_plan_at_each_lumbar_level_crosses_no_expert_bone_beyond_its_foraminoplasty(verse_case, side):
    ct, expert_bone, anatomy, levels = verse_case
    for level in levels:
        result = plan(ct, anatomy.labels, PlanRequest(level=level, side=side), anatomy.names, anatomy.uncertainty)
        assert result.level == level and result.reasons
        if not result.feasible:
            assert any(r.startswith("no safe") for r in result.reasons)
            continue
        crossed = bone_crossed_mm3(result, expert_bone)
        assert crossed <= result.foraminoplasty_mm3 + BONE_TOLERANCE_MM3, (level, side, crossed)
        if result.entry_estimated:  # the path leaves the crop before the skin
            assert any("the skin is not in view" in r for r in result.reasons)
        else:  # the skin is in view along this path: the entry is on it, air just beyond
            entry, target = np.array(result.entry_lps_mm), np.array(result.target_lps_mm)
            beyond = entry + 2.0 * (entry - target) / np.linalg.norm(entry - target)
            ijk = np.round(ct.lps_to_ijk(beyond)).astype(int)
            assert np.asarray(ct.voxels)[tuple(ijk)] < -300
