"""Cranio-caudal profiles of the spine used to place soft tissue: for a height z (LPS mm), the
antero-posterior position of the vertebral body centre, its anterior surface, the laminae and
the spinous process tips, interpolated between vertebrae."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.phantom.spine import Spine


@dataclass(frozen=True)
class SpineProfile:
    z_mm: np.ndarray
    body_centre_y_mm: np.ndarray
    body_front_y_mm: np.ndarray
    lamina_y_mm: np.ndarray
    back_bone_y_mm: np.ndarray
    body_half_width_mm: np.ndarray

    def at(self, field: str, z):
        return np.interp(z, self.z_mm, getattr(self, field)).astype(np.float32)


def spine_profile(spine: Spine) -> SpineProfile:
    rows = []
    for name in ("S1", "L5", "L4", "L3", "L2", "L1"):
        v = spine.vertebrae[name]
        centre = v.frame.origin_lps_mm
        front = v.frame.point(0, -v.b, 0)
        lamina = v.arch.point(0, v.lamina_v_midline, 0)
        if v.is_sacrum:
            back = v.frame.point(0, v.lamina_v_midline + 8.0, 0)
            rows.append(
                (centre[2] - 60.0, centre[1] + 28.0, front[1] + 30.0, lamina[1] + 18.0, back[1] + 18.0, v.a - 6)
            )
            rows.append((centre[2] - 25.0, centre[1] + 8.0, front[1] + 10.0, lamina[1] + 6.0, back[1] + 6.0, v.a))
        else:
            tip_v, tip_w = v.spinous_tip_local()
            back = v.arch.point(0, tip_v, tip_w)
            rows.append((centre[2], centre[1], front[1], lamina[1], back[1], v.a))
            continue
        rows.append((centre[2], centre[1], front[1], lamina[1], v.frame.point(0, v.lamina_v_midline + 10, 0)[1], v.a))
    rows.sort()
    top = rows[-1]
    rows.append((top[0] + 60.0, *top[1:]))
    arr = np.array(rows)
    return SpineProfile(*[arr[:, c] for c in range(6)])
