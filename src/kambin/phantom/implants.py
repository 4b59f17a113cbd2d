"""Posterior instrumentation for the phantom: bilateral pedicle screws and the rods between their
heads, in titanium (over 3000 HU on CT; clipped at 3071, the scanners' usual ceiling).

A lumbar pedicle screw is 6.5 mm across and 40-50 mm long, set along the pedicle's axis from its
entry at the base of the superior articular process; its polyaxial head (tulip) stands some 10 mm
proud of the bone and holds a 5.5 mm rod (the common sizes of lumbar screw-rod systems in
manufacturers' catalogues; not a cited measurement). The screw follows the phantom's own pedicle axis
(`VertebraGeometry.pedicle_axis`), so it lies inside the pedicle as a well-placed screw does.
"""

from __future__ import annotations

import numpy as np

from kambin.phantom.shapes import Tube
from kambin.phantom.spine import SIDES, Spine

SCREW_RADIUS_MM = 3.25
SCREW_LENGTH_MM = 45.0
HEAD_RADIUS_MM = 6.0
HEAD_PROUD_MM = 10.0
ROD_RADIUS_MM = 2.75
MIDLINE_CLEARANCE_MM = 2.0
METAL_HU = 3071.0


def screws_and_rods(spine: Spine, vertebrae: tuple[str, ...]) -> list[Tube]:
    """Tubes for a screw in each pedicle of `vertebrae` and, with two or more, one rod per side
    through the screw heads. Each tube is named "metal" (its label)."""
    tubes: list[Tube] = []
    heads: dict[str, list[np.ndarray]] = {side: [] for side in SIDES}
    for name in vertebrae:
        vert = spine.vertebrae[name]
        for side, s in SIDES.items():
            start, end = vert.pedicle_axis(s)  # local: in the body, at the pedicle's posterior end
            inward = (start - end) / np.linalg.norm(start - end)
            entry = end
            head = entry - HEAD_PROUD_MM * inward
            # Converging screws stop short of the midline (MIDLINE_CLEARANCE_MM), as a surgeon sizes them.
            medial = abs(inward[0])
            room = (abs(entry[0]) - SCREW_RADIUS_MM - MIDLINE_CLEARANCE_MM) / medial if medial > 0 else np.inf
            tip = entry + min(SCREW_LENGTH_MM, room) * inward
            points = vert.frame.points(np.array([head, entry - 2.0 * inward, tip]))
            tubes.append(Tube("metal", points, np.array([HEAD_RADIUS_MM, SCREW_RADIUS_MM, SCREW_RADIUS_MM])))
            heads[side].append(points[0])
    if len(vertebrae) >= 2:
        for side in SIDES:
            ordered = sorted(heads[side], key=lambda p: -p[2])  # cranial first
            axis = (ordered[-1] - ordered[0]) / np.linalg.norm(ordered[-1] - ordered[0])
            points = np.array([ordered[0] - 5.0 * axis, *ordered[1:-1], ordered[-1] + 5.0 * axis])
            tubes.append(Tube("metal", points, np.full(len(points), ROD_RADIUS_MM)))
    return tubes
