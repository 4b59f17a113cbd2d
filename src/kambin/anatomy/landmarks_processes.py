"""The process tips of one vertebra measured on its label, for `kambin.anatomy.landmarks`: the tip of
each superior articular process (SAP) and of the spinous process, in the vertebra's local frame (u left,
v posterior, w superior; mm).

Method: a tip is the extreme point of its process in the vertebra's frame, the most cranial point of the
SAP and the most posterior point of the spinous process (the extremes Panjabi et al., Spine
1992;17(3):299-306 and Panjabi MM et al., Spine 1993;18(10):1298-1310 digitise). Both processes end in a
broad face (the facet's upper margin; the lumbar spinous process's vertical posterior border), on which
the single extreme point is ill-defined, so the tip is placed at the extreme level (half a voxel beyond
the last voxel centre) at the centre of the bone within `SAP_TIP_CAP_MM` / `SPINOUS_TIP_CAP_MM` of it.
`kambin.phantom.measure.process_tips` gives the truth by the same definition on the phantom's solid. Each
process is searched where it lies in its own vertebra, so that a neighbour's bone given this vertebra's
label is not taken for it: the SAP lateral to the canal and behind its pedicle (`_sap_tip`), the spinous
process within 6 mm of the midline behind the lamina (`_spinous_tip`).
"""

from __future__ import annotations

import numpy as np

#: Depth of the cap under a process's extreme whose centre is its tip (mm): about the rounding of
#: the facet's margin and of the spinous process's posterior border (see the module docstring).
SAP_TIP_CAP_MM = 3.0
SPINOUS_TIP_CAP_MM = 3.0
#: Where the tips may lie in their own vertebra's frame (mm). The SAP tip rises into the foramen
#: below the upper vertebra's pedicle: foraminal height 19-23 mm from the lower pedicle's top, about
#: 1 mm under the superior endplate (Hasegawa 1995; Panjabi 1992), so at most 25 mm above the endplate,
#: and at least 3 mm above it (the facet joint's centre is at the posterior disc's mid-height or above).
SAP_TIP_ABOVE_ENDPLATE_MM = 25.0
SAP_TIP_MIN_ABOVE_ENDPLATE_MM = 3.0
#: The SAP rises from the posterior end of its pedicle (pedicle 10-15 mm long behind the posterior
#: wall, Zindrick 1987), the facet joint lying behind the pedicle and lateral to the canal (Panjabi MM
#: et al., Spine 1993;18(10):1298-1310): searched from 4 mm medial to 14 mm lateral of the pedicle's
#: centre line (u, mm) and 8 to 28 mm behind the posterior wall (v, mm).
SAP_REGION_U_MM = (-4.0, 14.0)
SAP_REGION_V_MM = (8.0, 28.0)
#: The lumbar spinous process runs back and slightly down from the lamina: its tip lies between the
#: level of the inferior endplate less 12 mm (about the disc below) and the superior endplate; its
#: length behind the canal is 25-35 mm (lamina and process, Panjabi 1992), at least 15 mm.
SPINOUS_TIP_BAND_MM = (12.0, 0.0)
SPINOUS_MIN_LENGTH_MM = 15.0


def _sap_tip(
    loc: np.ndarray, s: float, pedicle_u: float, vp: float, h: float, half_w: float
) -> tuple[float, float, float] | None:
    """The tip (local u, v, w) of the SAP on side `s` (+1 left, -1 right) among the vertebra's points
    `loc` (local u, v, w): behind its pedicle (|u| of its centre `pedicle_u`; `SAP_REGION_U_MM`,
    `SAP_REGION_V_MM` from the posterior wall `vp`), above the superior endplate (body height `h`) and at
    most `SAP_TIP_ABOVE_ENDPLATE_MM` above it, with no bone of this label above that in its column;
    `half_w` is half a voxel along w. None where it is not found there."""
    au = s * loc[:, 0] - pedicle_u
    column = loc[(au > SAP_REGION_U_MM[0]) & (au < SAP_REGION_U_MM[1]) & (loc[:, 1] > vp + SAP_REGION_V_MM[0])]
    column = column[column[:, 1] < vp + SAP_REGION_V_MM[1]]
    if len(column) < 10 or column[:, 2].max() > h / 2 + SAP_TIP_ABOVE_ENDPLATE_MM:
        return None
    top = float(column[:, 2].max()) + half_w
    if top < h / 2 + SAP_TIP_MIN_ABOVE_ENDPLATE_MM:
        return None
    cap = column[column[:, 2] > top - SAP_TIP_CAP_MM]
    return cap[:, 0].mean(), cap[:, 1].mean(), top


def _spinous_tip(
    loc: np.ndarray, vp: float, h: float, canal_depth: float, half_v: float
) -> tuple[float, float, float] | None:
    """The spinous process's tip (local u, v, w) among the vertebra's points `loc` (local u, v, w): within
    6 mm of the midline and `SPINOUS_TIP_BAND_MM` of the body's height `h`, and at least
    `SPINOUS_MIN_LENGTH_MM` behind the canal (the posterior wall `vp` plus `canal_depth`, 15 mm where
    that is not known); `half_v` is half a voxel along v. None where it is not found there."""
    band = (loc[:, 2] > -h / 2 - SPINOUS_TIP_BAND_MM[0]) & (loc[:, 2] < h / 2 + SPINOUS_TIP_BAND_MM[1])
    pts = loc[(np.abs(loc[:, 0]) < 6.0) & (loc[:, 1] > vp + 10.0) & band]
    if len(pts) < 10:
        return None
    back = float(pts[:, 1].max()) + half_v
    canal_back = vp + (canal_depth if np.isfinite(canal_depth) else 15.0)
    if back < canal_back + SPINOUS_MIN_LENGTH_MM:
        return None
    cap = pts[pts[:, 1] > back - SPINOUS_TIP_CAP_MM]
    return cap[:, 0].mean(), back, cap[:, 2].mean()
