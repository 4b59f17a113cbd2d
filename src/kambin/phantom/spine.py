"""The lumbar column: vertebrae L1-S1 (T11-S1 with the thoracic option) stacked along the
lordosis, with discs and facet joints.

The chain starts at the S1 superior endplate, tilted by the sacral slope, and goes up: each
disc is a wedge of its segmental lordosis (Roussouly 2005) and its mid-height (Twomey 1987);
each body a box of its height, L5 itself wedged. World frame: LPS mm, the L3
body centre at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kambin.phantom import sdf
from kambin.phantom.frames import Frame, sagittal_axes, up_vector
from kambin.phantom.morphometry import LEVELS_VERTEBRAE, MOTION_LEVELS, THORACIC, THORACIC_MOTION_LEVELS, Morphometry
from kambin.phantom.vertebra import FacetJoint, VertebraGeometry

SIDES = {"left": 1, "right": -1}


@dataclass
class DiscGeometry:
    """A disc between `upper` and `lower`: frame at its centre (mid tilt), endplate planes."""

    level: str
    upper: str
    lower: str
    frame: Frame
    height_mm: float
    lordosis_rad: float
    lower_plane_point: np.ndarray  # lower vertebra's superior endplate centre (LPS)
    lower_plane_normal: np.ndarray  # pointing up
    upper_plane_point: np.ndarray  # upper vertebra's inferior endplate centre
    upper_plane_normal: np.ndarray  # pointing up
    semi_axes_mm: tuple[float, float]
    v_posterior_mm: float  # posterior margin in the disc frame
    concavity_mm: float
    #: How far the upper endplate has moved over the lower one beyond the frame's own (a slip,
    #: `phantom.listhesis`): the disc shears with it, each height a fraction of the way.
    shear_lps_mm: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def local(self, x, y, z):
        """(u, v, w) in the disc's frame, sheared with `shear_lps_mm`."""
        if not self.shear_lps_mm.any():
            return self.frame.to_local(x, y, z)
        p, n = self.lower_plane_point, self.lower_plane_normal
        height = (x - p[0]) * n[0] + (y - p[1]) * n[1] + (z - p[2]) * n[2]
        t = np.clip(height / self.height_mm, 0.0, 1.0) - 0.5  # the frame sits at mid-height
        shear = self.shear_lps_mm
        return self.frame.to_local(x - t * shear[0], y - t * shear[1], z - t * shear[2])

    def sdf(self, x, y, z):
        u, v, w = self.local(x, y, z)
        d2 = sdf.superellipse2d(u, v, self.semi_axes_mm[0], self.semi_axes_mm[1], 2.6)
        d2 = np.maximum(d2, v - self.v_posterior_mm)
        return np.maximum(d2, self._between(x, y, z))

    def _between(self, x, y, z):
        p, n = self.lower_plane_point, self.lower_plane_normal
        below = -((x - p[0]) * n[0] + (y - p[1]) * n[1] + (z - p[2]) * n[2]) - self.concavity_mm
        p, n = self.upper_plane_point, self.upper_plane_normal
        above = ((x - p[0]) * n[0] + (y - p[1]) * n[1] + (z - p[2]) * n[2]) - self.concavity_mm
        return np.maximum(below, above).astype(np.float32)

    def nucleus_weight(self, x, y, z):
        """1 in the nucleus (inner 55 % of the section), 0 in the annulus, smooth between."""
        u, v, w = self.local(x, y, z)
        r = np.sqrt((u / self.semi_axes_mm[0]) ** 2 + ((v + 2.0) / self.semi_axes_mm[1]) ** 2)
        return np.clip((0.7 - r) / 0.2, 0.0, 1.0).astype(np.float32)

    def height_at(self, v_local: float, u_local: float = 0.0) -> float:
        """Distance between the endplate planes along the disc axis at local (u, v)."""
        base = self.frame.point(u_local, v_local, 0.0)
        axis = self.frame.axes_lps[:, 2]
        t_low = ((self.lower_plane_point - base) @ self.lower_plane_normal) / (axis @ self.lower_plane_normal)
        t_up = ((self.upper_plane_point - base) @ self.upper_plane_normal) / (axis @ self.upper_plane_normal)
        return float(t_up - t_low)

    def bbox_lps(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.semi_axes_mm
        r = max(a, b) + self.height_mm + float(np.linalg.norm(self.shear_lps_mm)) / 2
        c = self.frame.origin_lps_mm
        return c - r, c + r


@dataclass
class Spine:
    vertebrae: dict[str, VertebraGeometry]
    discs: dict[str, DiscGeometry]
    joints: dict[tuple[str, str], FacetJoint]  # (level, side)

    def upper_lower(self, level: str) -> tuple[VertebraGeometry, VertebraGeometry]:
        upper, lower = level.split("-")
        return self.vertebrae[upper], self.vertebrae[lower]


def build_spine(morph: Morphometry, sap_extra_mm: dict[tuple[str, str], float] | None = None) -> Spine:
    """Stack the vertebrae and discs along the lordosis; `sap_extra_mm` thickens SAPs
    (facet hypertrophy) per (level, side)."""
    sap_extra_mm = sap_extra_mm or {}
    dims = morph.vertebrae
    phi = morph.sacral_slope_rad
    point = np.zeros(3)
    frames: dict[str, Frame] = {}
    top_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    bottom_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # S1 hangs below its superior endplate.
    s1 = dims["S1"]
    frames["S1"] = Frame(point - up_vector(phi) * s1.body_height_mm / 2, sagittal_axes(phi))
    top_of["S1"] = (point.copy(), up_vector(phi))
    disc_frames: dict[str, tuple[Frame, float, float]] = {}
    names = [n for n in THORACIC if n in dims] + list(LEVELS_VERTEBRAE)  # cranial first
    levels = [lv for lv in THORACIC_MOTION_LEVELS if lv in morph.segments] + list(MOTION_LEVELS)
    for level, upper in zip(reversed(levels), reversed(names[:-1]), strict=True):
        seg = morph.segments[level]
        phi_disc = phi - seg.lordosis_rad / 2
        disc_centre = point + up_vector(phi_disc) * seg.disc_height_mm / 2
        disc_frames[level] = (Frame(disc_centre, sagittal_axes(phi_disc)), seg.disc_height_mm, seg.lordosis_rad)
        point = point + up_vector(phi_disc) * seg.disc_height_mm
        phi = phi - seg.lordosis_rad
        v = dims[upper]
        bottom_of[upper] = (point.copy(), up_vector(phi))
        phi_body = phi - v.body_wedge_rad / 2
        frames[upper] = Frame(point + up_vector(phi_body) * v.body_height_mm / 2, sagittal_axes(phi_body))
        point = point + up_vector(phi_body) * v.body_height_mm
        phi = phi - v.body_wedge_rad
        top_of[upper] = (point.copy(), up_vector(phi))
    shift = -frames["L3"].origin_lps_mm
    shift[0] = 0.0

    def moved(f: Frame) -> Frame:
        return Frame(f.origin_lps_mm + shift, f.axes_lps)

    vertebrae = {
        name: VertebraGeometry(
            dims=dims[name],
            frame=moved(frames[name]),
            label="vertebrae_" + name,
            is_sacrum=name == "S1",
        )
        for name in names
    }
    discs: dict[str, DiscGeometry] = {}
    joints: dict[tuple[str, str], FacetJoint] = {}
    for level in levels:
        upper, lower = level.split("-")
        frame, height, lordosis = disc_frames[level]
        frame = moved(frame)
        vu, vl = vertebrae[upper], vertebrae[lower]
        a = 0.5 * (vu.a + vl.a) + 0.8
        b = 0.5 * (vu.b + vl.b) + 0.6
        disc = DiscGeometry(
            level=level,
            upper=upper,
            lower=lower,
            frame=frame,
            height_mm=height,
            lordosis_rad=lordosis,
            lower_plane_point=top_of[lower][0] + shift,
            lower_plane_normal=top_of[lower][1],
            upper_plane_point=bottom_of[upper][0] + shift,
            upper_plane_normal=bottom_of[upper][1],
            semi_axes_mm=(a, b),
            v_posterior_mm=0.5 * (vu.v_posterior_wall + vl.v_posterior_wall) + 1.0,
            concavity_mm=1.4,
        )
        discs[level] = disc
        theta = morph.segments[level].facet_angle_rad
        for side, s in SIDES.items():
            joints[(level, side)] = _facet_joint(
                level, side, s, theta, vu, vl, disc, sap_extra_mm.get((level, side), 0.0)
            )
            vl.sap_joints[side] = joints[(level, side)]
            vu.iap_joints[side] = joints[(level, side)]
    order = [vertebrae[name] for name in names]
    for i, vert in enumerate(order):
        vert.neighbours = tuple(order[j] for j in (i - 1, i + 1) if 0 <= j < len(order))
    return Spine(vertebrae=vertebrae, discs=discs, joints=joints)


def _facet_joint(
    level, side, s, theta, vu: VertebraGeometry, vl: VertebraGeometry, disc: DiscGeometry, extra: float
) -> FacetJoint:
    """The joint centre sits behind the pedicles at the posterior disc level (Panjabi 1993)."""
    dims = vl.dims
    post_height = disc.height_at(disc.v_posterior_mm)
    centre_local = np.array(
        [
            s * (dims.canal_width_mm / 2 + 0.55 * dims.pedicle_width_mm + 1.5),
            vl.v_posterior_wall + 16.5 + 2.5 * max(np.degrees(theta) - 40.0, 0.0) / 10.0,
            vl.h / 2 + post_height / 2 + 2.0,
        ]
    )
    centre = vl.frame.point(*centre_local)
    n = np.array([-s * np.cos(theta), np.sin(theta), 0.0])
    h = np.array([s * np.sin(theta), np.cos(theta), 0.0])
    axes_local = np.stack([n, h, np.array([0.0, 0.0, 1.0])], axis=1)
    frame = Frame(centre, disc.frame.axes_lps @ axes_local)
    # SAP tip 3 mm under the upper pedicle; base at the lower pedicle's centre.
    upper_pedicle_bottom = vu.frame.point(
        s * vu.pedicle_u, vu.pedicle_v_end, vu.pedicle_w - vu.dims.pedicle_height_mm / 2
    )
    tip = float(np.clip(frame.local_points(upper_pedicle_bottom[None])[0, 2] - 3.0, 4.0, 11.0))
    base = vl.frame.point(s * vl.pedicle_u, vl.pedicle_v_end, vl.pedicle_w)
    bottom = float(frame.local_points(base[None])[0, 2] - 2.0)
    return FacetJoint(
        level=level,
        side=side,
        frame=frame,
        sap_top_mm=tip + extra * 0.6,
        sap_bottom_mm=bottom,
        sap_thickness_mm=6.0 + extra,
    )
