"""The iliac wings with their crests, and the sacro-iliac joints.

Each ilium is a curved plate whose axial section is a circular arc from the posterior superior
iliac spine through the iliac tubercle to the anterior superior iliac spine (intercristal
width about 280 mm, inter-ASIS about 240 mm in adults), thick at the crest and thin in the
fossa, with a thick posterior part meeting the sacral ala at a 2 mm sacro-iliac joint. The
crest top sits at the L4-L5 disc +- 8 mm (Chakraverty 2007); the high-iliac-crest pathology raises it
(the
"high iliac crest" that is the classic obstacle of the transforaminal route to L5-S1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.phantom import sdf
from kambin.phantom.shapes import FunctionShape
from kambin.phantom.spine import Spine


def _circle(a, b, c):
    ax, ay = a
    bx, by = b
    cx, cy = c
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    ux = ((ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay) + (cx**2 + cy**2) * (ay - by)) / d
    uy = ((ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx) + (cx**2 + cy**2) * (bx - ax)) / d
    centre = np.array([ux, uy])
    return centre, float(np.linalg.norm(np.array(a) - centre))


@dataclass
class Ilium:
    side: str
    s: int
    points_xy: np.ndarray  # A (posterior), B (lateral), C (anterior), positive-x half
    crest_top_z_mm: float
    pivot_xy: np.ndarray
    si_point_xy: np.ndarray
    z_bottom_mm: float
    spine: Spine

    def __post_init__(self):
        self.centre, self.radius = _circle(*self.points_xy)
        ang = [np.arctan2(p[1] - self.centre[1], p[0] - self.centre[0]) for p in self.points_xy]
        # order A -> B -> C; unwrap so the arc passes through B
        a0, a1, a2 = np.unwrap(ang)
        if not (min(a0, a2) < a1 < max(a0, a2)):
            a2 = a2 + (2 * np.pi if a2 < a0 else -2 * np.pi)
        self.theta_a, self.theta_c = float(a0), float(a2)

    def crest_z(self, tau):
        """Crest height along the arc: the posterior crest falls steeply to the posterior
        superior iliac spine (about 45 mm below the top), the anterior part to the ASIS."""
        k = np.where(tau < 0.42, 260.0, 150.0)
        return self.crest_top_z_mm - k * (tau - 0.42) ** 2

    def crest_top_lps_mm(self) -> np.ndarray:
        theta = self.theta_a + 0.42 * (self.theta_c - self.theta_a)
        xy = self.centre + self.radius * np.array([np.cos(theta), np.sin(theta)])
        return np.array([self.s * xy[0], xy[1], self.crest_top_z_mm])

    def sdf(self, x, y, z):
        xm = self.s * x
        f = 1.0 - 0.0028 * np.clip(self.crest_top_z_mm - z, 0, None)
        px = self.pivot_xy[0] + (xm - self.pivot_xy[0]) / f
        py = self.pivot_xy[1] + (y - self.pivot_xy[1]) / f
        dx, dy = px - self.centre[0], py - self.centre[1]
        r = np.sqrt(dx * dx + dy * dy)
        theta = np.arctan2(dy, dx)
        span = self.theta_c - self.theta_a
        mid = 0.5 * (self.theta_a + self.theta_c)
        delta = np.mod(theta - mid + np.pi, 2 * np.pi) - np.pi
        tau = 0.5 + delta / span
        zc = self.crest_z(np.clip(tau, 0, 1))
        thick = 3.5 + 5.5 * np.clip((z - (zc - 28.0)) / 22.0, 0, 1)
        d = np.abs(r - self.radius) - thick / 2
        cap = np.maximum(-tau, tau - 1.0) * abs(span) * self.radius
        d = np.maximum(d, cap) * f
        d = np.maximum(d, z - zc)
        # posterior thick part toward the sacro-iliac joint
        z_post_top = self.crest_z(0.0) + 2.0
        seg = sdf.segment_distance(
            xm, y, 0 * z, np.array([*self.points_xy[0], 0.0]), np.array([*self.si_point_xy, 0.0])
        )[0]
        taper = 13.0 - 5.0 * np.clip((z_post_top - z) / 70.0, 0.0, 1.0)
        block = np.maximum(seg - taper, z - z_post_top)
        d = sdf.smooth_union(d, block.astype(np.float32), 6.0)
        d = np.maximum(d, self.z_bottom_mm - z)
        d = np.array(np.broadcast_to(d, np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))), dtype=np.float32)
        near = d < 2.5
        if near.any():
            shape = d.shape
            px, py, pz = (np.broadcast_to(c, shape)[near] for c in (x, y, z))
            sacrum, _ = self.spine.vertebrae["S1"].sdf(px, py, pz, carve=False)
            d[near] = np.maximum(d[near], -(sacrum - 2.0))
        return d

    def shape(self, label: str) -> FunctionShape:
        xs = np.array([p[0] for p in self.points_xy] + [self.si_point_xy[0]])
        ys = np.array([p[1] for p in self.points_xy] + [self.si_point_xy[1]])
        lo = np.array([xs.min() - 20, ys.min() - 25, self.z_bottom_mm - 1])
        hi = np.array([xs.max() + 20, ys.max() + 25, self.crest_top_z_mm + 2])
        lo_x, hi_x = (lo[0], hi[0]) if self.s > 0 else (-hi[0], -lo[0])
        lo[0], hi[0] = lo_x, hi_x
        return FunctionShape(label, lo, hi, self.sdf)


def build_ilia(spine: Spine, scale: float, crest_top_z_mm: float, z_bottom_mm: float) -> dict[str, Ilium]:
    s1 = spine.vertebrae["S1"]
    y0 = s1.frame.origin_lps_mm[1]
    ilia = {}
    for side, s in (("left", 1), ("right", -1)):
        a = np.array([46.0 * scale, y0 + 48.0 * scale])
        b = np.array([138.0 * scale, y0 - 22.0 * scale])
        c = np.array([116.0 * scale, y0 - 108.0 * scale])
        si = s1.frame.point(s * (s1.a + 22.0), 8.0, -15.0)
        ilia[side] = Ilium(
            side=side,
            s=s,
            points_xy=np.array([a, b, c]),
            crest_top_z_mm=crest_top_z_mm,
            pivot_xy=np.array([s1.a + 20.0, y0 + 10.0]),
            si_point_xy=np.array([s * si[0], si[1]]),
            z_bottom_mm=z_bottom_mm,
            spine=spine,
        )
    return ilia
