"""One vertebra as an implicit solid: body, pedicles, laminae, articular processes, spinous and
transverse processes, and (for S1) the sacral alae and the sacrum below.

Shapes are written in the vertebra's local frame (u left, v posterior, w superior, origin at
the body centre). Dimensions come from `morphometry.VertebraDims` (Panjabi 1992, Zindrick
1987); the positions of the posterior elements relative to the body follow the same papers'
canal width and depth and the pedicle position (pedicle top about 1 mm under the superior
endplate, isthmus 4 mm behind the posterior wall).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kambin.phantom import sdf
from kambin.phantom.frames import Frame
from kambin.phantom.morphometry import VertebraDims

FACET_GAP_MM = 1.6  # joint space of a lumbar facet joint, 1-2 mm on CT
SAP_THICKNESS_MM = 6.0
IAP_THICKNESS_MM = 6.0
LAMINA_THICKNESS_MM = 6.5
#: Bone of two neighbouring vertebrae keeps at least this far apart (mm). Lumbar vertebrae meet only
#: through their disc and across the joint space of their facet joints; around an articular
#: process's tip (the joint's superior and inferior recesses) lie the capsule and its fat pads, and
#: between the laminae the ligamentum flavum (Bogduk, Clinical and Radiological Anatomy of the Lumbar
#: Spine, 5th ed., ch. 3 and 4; Standring, Gray's Anatomy). Bone-to-bone contact is ankylosis. The
#: shapes here, each placed by its own vertebra's dimensions, overlapped without it: on seed 0 (1 mm
#: voxels) every facet joint had 20-40 voxels of its superior articular process fused with the lamina
#: of the vertebra above along the process's anterior edge, and 16-29 of the inferior articular
#: process's tip with the bone below; seed 2's L5 laminae lay on S1's. The clearance is the facet
#: joint's own space, so the joints themselves are unchanged.
NEIGHBOUR_CLEARANCE_MM = FACET_GAP_MM
#: The cleft of a pars defect (spondylolysis), between a slipped vertebra's body and its loose arch:
#: fibrous tissue a few millimetres wide on CT before the slip opens it further.
PARS_DEFECT_MM = 2.0
BODY_EXPONENT = 2.6  # squarer than an ellipse: a flat posterior wall with posterolateral corners


@dataclass(frozen=True)
class FacetJoint:
    """One facet joint: `frame` axes are n (from SAP to IAP), h (horizontal in the joint plane),
    w (vertical in the joint plane); origin the joint centre."""

    level: str
    side: str
    frame: Frame
    sap_top_mm: float  # tip of the superior articular process above the joint centre
    sap_bottom_mm: float  # where it merges with the pedicle, below the joint centre (negative)
    sap_thickness_mm: float = SAP_THICKNESS_MM
    gap_mm: float = FACET_GAP_MM

    def sap_sdf(self, x, y, z):
        n, h, w = self.frame.to_local(x, y, z)
        c_n = -(self.gap_mm / 2 + self.sap_thickness_mm / 2)
        c_w = (self.sap_top_mm + self.sap_bottom_mm) / 2
        half = (self.sap_thickness_mm / 2, 5.0, (self.sap_top_mm - self.sap_bottom_mm) / 2)
        return sdf.box(n - c_n, h - 3.0, w - c_w, half, rounding=1.8)

    def iap_sdf(self, x, y, z):
        n, h, w = self.frame.to_local(x, y, z)
        c_n = self.gap_mm / 2 + IAP_THICKNESS_MM / 2
        return sdf.box(n - c_n, h + 0.5, w - 1.0, (IAP_THICKNESS_MM / 2, 5.5, 12.0), rounding=1.8)

    def sap_tip_lps_mm(self) -> np.ndarray:
        return self.frame.point(-(self.gap_mm / 2 + self.sap_thickness_mm / 2), 3.0, self.sap_top_mm)


@dataclass
class VertebraGeometry:
    """A vertebra's dims, frame and the derived local positions of its parts."""

    dims: VertebraDims
    frame: Frame
    label: str
    sap_joints: dict[str, FacetJoint] = field(default_factory=dict)  # at its top (it owns the SAP)
    iap_joints: dict[str, FacetJoint] = field(default_factory=dict)  # at its bottom (it owns the IAP)
    is_sacrum: bool = False
    carve_tubes: tuple = ()  # root channels through bone (the S1 roots through the sacral foramina)
    #: Where the laminae and the spinous process sit when they have come apart from the body at a pars
    #: defect (isthmic spondylolisthesis, `phantom.listhesis`); None: with the body, in `frame`.
    arch_frame: Frame | None = None
    # the vertebrae above and below (`NEIGHBOUR_CLEARANCE_MM`); not in repr/eq, which would recurse
    neighbours: tuple = field(default=(), repr=False, compare=False)

    @property
    def arch(self) -> Frame:
        """The frame of the laminae and the spinous process (`frame` unless a pars defect let the
        body slip away from them)."""
        return self.frame if self.arch_frame is None else self.arch_frame

    # --- derived local geometry -------------------------------------------------------
    @property
    def a(self) -> float:
        return self.dims.body_width_mm / 2

    @property
    def b(self) -> float:
        return self.dims.body_depth_mm / 2

    @property
    def h(self) -> float:
        return self.dims.body_height_mm

    @property
    def v_posterior_wall(self) -> float:
        return 0.88 * self.b

    @property
    def pedicle_u(self) -> float:
        return self.dims.canal_width_mm / 2 + self.dims.pedicle_width_mm / 2

    @property
    def pedicle_w(self) -> float:
        return self.h / 2 - 1.0 - self.dims.pedicle_height_mm / 2

    @property
    def pedicle_v_isthmus(self) -> float:
        return self.v_posterior_wall + 4.0

    @property
    def pedicle_v_end(self) -> float:
        return self.v_posterior_wall + 9.5

    def pedicle_axis(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """Local (start, end) of the pedicle axis on side s (+1 left, -1 right)."""
        alpha = self.dims.pedicle_angle_rad
        direction = np.array([s * np.sin(alpha), np.cos(alpha), 0.0])
        centre = np.array([s * self.pedicle_u, self.pedicle_v_isthmus, self.pedicle_w])
        t0 = (self.v_posterior_wall - 9.0 - centre[1]) / np.cos(alpha)
        t1 = (self.pedicle_v_end - centre[1]) / np.cos(alpha)
        return centre + t0 * direction, centre + t1 * direction

    @property
    def lamina_v_midline(self) -> float:
        return self.v_posterior_wall + self.dims.canal_depth_mm

    @property
    def endplate_concavity_mm(self) -> float:
        return 1.4

    # --- the solid --------------------------------------------------------------------
    def body_sdf_local(self, u, v, w):
        a, b, h = self.a, self.b, self.h
        half_w = self.dims.body_wedge_rad / 2
        rho2 = np.minimum((u / a) ** 2 + (v / b) ** 2, 1.0)
        waist = 1.0 - 0.07 * (1.0 - np.clip((2 * w / h) ** 2, 0, 1))
        d2 = sdf.superellipse2d(
            u, v, a * waist, b * (1.0 - 0.04 * (1.0 - np.clip((2 * w / h) ** 2, 0, 1))), BODY_EXPONENT
        )
        d2 = np.maximum(d2, v - self.v_posterior_wall)
        concave = self.endplate_concavity_mm * (1.0 - rho2)
        top = (np.sin(half_w) * v + np.cos(half_w) * w) - (h / 2 - concave)
        bottom = -(-np.sin(half_w) * v + np.cos(half_w) * w) - (h / 2 - concave)
        return np.maximum(d2, np.maximum(top, bottom)).astype(np.float32)

    def posterior_sdf_local(self, u, v, w, part: str = "all", arch=None):
        """Pedicles, laminae, spinous and transverse processes (local frame), no facets: `part` "all",
        or "front" (pedicles and transverse processes) or "arch" (laminae and spinous process) apart.
        `arch`: the same points in the arch's local frame (`arch_frame`), where laminae and spinous
        process are placed; default (u, v, w)."""
        dims = self.dims
        ua, va, wa = (u, v, w) if arch is None else arch
        parts = None
        for s in (1, -1):
            p0, p1 = self.pedicle_axis(s)
            axis = (p1 - p0) / np.linalg.norm(p1 - p0)
            perp = np.array([axis[1], -axis[0], 0.0])
            mid = (p0 + p1) / 2
            du, dv, dw = u - mid[0], v - mid[1], w - mid[2]
            along = du * axis[0] + dv * axis[1]
            across = du * perp[0] + dv * perp[1]
            half_len = np.linalg.norm(p1 - p0) / 2
            ped = np.maximum(
                sdf.ellipse2d(across, dw, dims.pedicle_width_mm / 2, dims.pedicle_height_mm / 2),
                np.abs(along) - half_len,
            )
            # Lamina half: a plate from the pedicle end to the midline, lower edge more posterior.
            w_top = self.pedicle_w + dims.pedicle_height_mm / 2 - 1.0
            w_bot = -self.h / 2 - (1.0 if self.is_sacrum else 3.0)
            w_mid = (w_top + w_bot) / 2
            sheared_v = va + 0.3 * np.minimum(wa - w_top + 4.0, 0.0)
            e = np.array([p1[0], p1[1]])
            m = np.array([0.0, self.lamina_v_midline + LAMINA_THICKNESS_MM / 2])
            d_uv = _segment2d(ua, sheared_v, e, m) - LAMINA_THICKNESS_MM / 2
            lam = np.maximum(d_uv, np.abs(wa - w_mid) - (w_top - w_bot) / 2)
            side = {"all": sdf.smooth_union(ped, lam, 2.5), "front": ped, "arch": lam}[part]
            if not self.is_sacrum and dims.tp_span_mm > 0 and part != "arch":
                tp_h = 9.0 if dims.name == "L5" else 5.5
                tp_t = 5.5 if dims.name == "L5" else 3.2
                a0 = np.array([s * (self.pedicle_u + 1.0), self.pedicle_v_end - 4.0, self.pedicle_w])
                a1 = np.array([s * dims.tp_span_mm / 2, self.pedicle_v_end - 3.0, self.pedicle_w - 2.0])
                tp = _capsule_flat(u, v, w, a0, a1, tp_t, tp_h)
                side = sdf.smooth_union(side, tp, 2.0)
            parts = side if parts is None else np.minimum(parts, side)
        if not self.is_sacrum and part != "front":
            v0 = self.lamina_v_midline + 1.0
            length = dims.spinous_length_mm
            sp_h = 8.5 if dims.name == "L5" else 10.5
            w_sp = -2.5
            sheared_w = wa + 0.28 * (va - v0)
            sp = sdf.box(ua, va - (v0 + length / 2), sheared_w - w_sp, (3.2, length / 2, sp_h), rounding=2.0)
            tip_v, tip_w = self.spinous_tip_local()
            tip = sdf.ellipsoid(ua, va - (tip_v - 5.0), wa - tip_w, 4.5, 5.5, sp_h * 0.8)
            parts = sdf.smooth_union(parts, sdf.smooth_union(sp, tip, 2.0), 2.5)
        return parts

    def sdf(self, x, y, z, carve: bool = True):
        """(whole vertebra, body only) signed distances at world coordinate arrays, kept
        NEIGHBOUR_CLEARANCE_MM clear of the neighbours' bone: each side of a contact gives up half.

        A bound of the distance rather than the distance itself where the clearance cuts (the max of
        two distance functions, as for any intersection of implicit solids; Hart, The Visual Computer
        12, 1996): the sign, and so the solid, is exact.
        """
        total, body = self.own_sdf(x, y, z, carve)
        if not self.neighbours:
            return total, body
        x, y, z = np.broadcast_arrays(x, y, z)
        # Only near the surface can the cut change the solid or its cortex, and not deep in the body,
        # which a disc keeps farther than the clearance from the neighbour.
        near = (total < NEIGHBOUR_CLEARANCE_MM) & np.broadcast_to(body > -NEIGHBOUR_CLEARANCE_MM, total.shape)
        if not near.any():
            return total, body
        px, py, pz = x[near], y[near], z[near]
        cut = np.full(px.shape, -np.inf, dtype=np.float32)
        for other in self.neighbours:
            lo, hi = other.bbox_lps()
            inside = (px >= lo[0]) & (px <= hi[0]) & (py >= lo[1]) & (py <= hi[1]) & (pz >= lo[2]) & (pz <= hi[2])
            if inside.any():
                theirs, _ = other.own_sdf(px[inside], py[inside], pz[inside], carve)
                cut[inside] = np.maximum(cut[inside], NEIGHBOUR_CLEARANCE_MM / 2 - theirs)
        total = np.array(np.broadcast_to(total, x.shape), dtype=np.float32)
        total[near] = np.maximum(total[near], cut)
        return total, body

    def own_sdf(self, x, y, z, carve: bool = True):
        """(whole vertebra, body only) signed distances of this vertebra's shapes alone."""
        u, v, w = self.frame.to_local(x, y, z)
        body = self.body_sdf_local(u, v, w)
        if self.arch_frame is not None:
            return self._slipped_sdf(x, y, z, u, v, w, body), body
        post = self.posterior_sdf_local(u, v, w)
        for joint in self.sap_joints.values():
            post = sdf.smooth_union(post, joint.sap_sdf(x, y, z), 2.0)
        for joint in self.iap_joints.values():
            post = sdf.smooth_union(post, joint.iap_sdf(x, y, z), 2.0)
        total = sdf.smooth_union(body, post, 2.5)
        if self.is_sacrum:
            total = sdf.smooth_union(total, self.sacrum_sdf_local(u, v, w), 4.0)
            total = np.maximum(total, -self.sacral_canal_sdf_local(u, v, w))
        for tube in self.carve_tubes if carve else ():
            total = np.maximum(total, -(tube.sdf_broadcast(x, y, z, limit=3.0) - 1.2))
        return total, body

    def _slipped_sdf(self, x, y, z, u, v, w, body):
        """The whole vertebra when its body has slipped away from its arch (`arch_frame`): the body,
        pedicles, transverse and superior articular processes in `frame`; the laminae, spinous and
        inferior articular processes in `arch_frame`, kept PARS_DEFECT_MM clear of the rest."""
        front = self.posterior_sdf_local(u, v, w, part="front")
        for joint in self.sap_joints.values():
            front = sdf.smooth_union(front, joint.sap_sdf(x, y, z), 2.0)
        front = sdf.smooth_union(body, front, 2.5)
        arch = self.posterior_sdf_local(u, v, w, part="arch", arch=self.arch_frame.to_local(x, y, z))
        for joint in self.iap_joints.values():
            arch = sdf.smooth_union(arch, joint.iap_sdf(x, y, z), 2.0)
        return np.minimum(front, np.maximum(arch, PARS_DEFECT_MM - front)).astype(np.float32)

    def sacral_canal_sdf_local(self, u, v, w):
        """The canal through S1 and the sacrum (carved out of the bone)."""
        below = np.maximum(-self.h / 2 - w, 0.0)
        tau = np.clip(below / 95.0, 0.0, 1.0)
        centre = self.v_posterior_wall + self.dims.canal_depth_mm / 2 - 0.004 * below**2
        half_w = self.dims.canal_width_mm / 2 * (1.0 - 0.45 * tau)
        half_d = self.dims.canal_depth_mm / 2 * (1.0 - 0.45 * tau)
        d = sdf.ellipse2d(u, v - centre, half_w, half_d)
        return np.maximum(d, w - (self.h / 2 + 20.0))

    def spinous_tip_local(self) -> tuple[float, float]:
        """(v, w) of the spinous process tip: the most posterior point of its bulb."""
        v0 = self.lamina_v_midline + 1.0
        tip_v = v0 + self.dims.spinous_length_mm
        tip_w = -2.5 - 0.28 * (tip_v - 5.0 - v0)
        return tip_v, tip_w

    def sacrum_sdf_local(self, u, v, w):
        """S1 alae and the sacrum below S1 (only for the S1 vertebra)."""
        a, h = self.a, self.h
        ala = None
        for s in (1, -1):
            box = sdf.box(u - s * (a + 12.0), v - 3.0, w - (-5.0), (15.0, 16.0, h / 2 + 1.0), rounding=6.0)
            ala = box if ala is None else np.minimum(ala, box)
        below = -h / 2 - w  # depth below the S1 inferior endplate
        tau = np.clip(below / 95.0, 0.0, 1.0)
        half_width = (a + 24.0) * (1.0 - 0.55 * tau)
        centre_v = 6.0 - 0.004 * np.maximum(below, 0) ** 2
        half_depth = (self.b + 9.0) * (1.0 - 0.45 * tau)
        lower = sdf.ellipse2d(u, v - centre_v, half_width, half_depth)
        lower = np.maximum(lower, np.maximum(w - (-h / 2 + 2.0), below - 95.0))
        return sdf.smooth_union(ala, lower, 6.0)

    def bbox_local(self) -> tuple[np.ndarray, np.ndarray]:
        span = max(self.dims.tp_span_mm / 2 + 8, self.a + 8)
        if self.is_sacrum:
            span = self.a + 50
            return np.array([-span, -self.b - 14, -self.h / 2 - 105]), np.array(
                [span, self.lamina_v_midline + 22, self.h / 2 + 30]
            )
        back = self.lamina_v_midline + self.dims.spinous_length_mm + 12
        return np.array([-span, -self.b - 4, -self.h / 2 - 22]), np.array([span, back, self.h / 2 + 24])

    def bbox_lps(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.bbox_local()
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        world = np.concatenate([self.frame.points(corners), self.arch.points(corners)])
        return world.min(axis=0), world.max(axis=0)


def _segment2d(u, v, p0: np.ndarray, p1: np.ndarray):
    d = p1 - p0
    t = np.clip(((u - p0[0]) * d[0] + (v - p0[1]) * d[1]) / float(d @ d), 0.0, 1.0)
    return np.sqrt((u - p0[0] - t * d[0]) ** 2 + (v - p0[1] - t * d[1]) ** 2).astype(np.float32)


def _capsule_flat(u, v, w, p0: np.ndarray, p1: np.ndarray, radius: float, half_height: float):
    """A capsule of `radius` whose cross-section is stretched vertically to `half_height`."""
    k = radius / half_height
    q0 = np.array([p0[0], p0[1], p0[2] * k])
    q1 = np.array([p1[0], p1[1], p1[2] * k])
    dist, _ = sdf.segment_distance(u, v, w * k, q0, q1)
    return (dist - radius).astype(np.float32)
