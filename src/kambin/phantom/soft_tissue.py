"""Soft tissue around the lumbar spine: skin, subcutaneous fat, abdominal wall, paraspinal,
psoas, iliacus and quadratus lumborum muscles, kidneys, aorta and vena cava, the peritoneal
cavity with bowel loops, and retroperitoneal fat.

Sizes are those of an adult abdominal CT at L3 (body about 330 x 250 mm for an average
habitus; psoas cross-section growing from about 2 cm^2 at L1 to 10-15 cm^2 at L4-L5 in adult CT
series; kidneys about 11 x 6 x 4 cm, hilum at L1-L2, the right 1-2 cm lower;
aorta bifurcating at L4). Everything is an implicit shape of the spine profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.phantom import sdf
from kambin.phantom.frames import Frame
from kambin.phantom.morphometry import Morphometry
from kambin.phantom.profile import SpineProfile
from kambin.phantom.shapes import FunctionShape, Tube
from kambin.phantom.spine import Spine


def _smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


@dataclass
class BodyOutline:
    """The body's cross-section: a superellipse per z, flatter at the back (supine)."""

    profile: SpineProfile
    semi_lateral_mm: float
    semi_ap_mm: float
    fat_mm: float
    crest_z_mm: float

    def params(self, z):
        cy = self.profile.at("body_centre_y_mm", z) + 8.0
        back = self.profile.at("back_bone_y_mm", z) + self.fat_mm + 7.0
        bp = back - cy
        ba = 2.0 * self.semi_ap_mm - bp
        hips = 28.0 * _smoothstep(self.crest_z_mm + 10.0, self.crest_z_mm - 50.0, z)
        a = self.semi_lateral_mm + hips
        return cy, a, bp, ba

    def sdf(self, x, y, z, inset_lat=0.0, inset_post=0.0, inset_ant=0.0):
        cy, a, bp, ba = self.params(z)
        dy = y - cy
        posterior = dy > 0
        aa = np.maximum(a - inset_lat, 5.0)
        r = np.sqrt(x * x + dy * dy)
        # Superellipse of exponent 3 behind (a flat back on the table), 2 in front.
        qx = np.abs(x) / aa
        qb = np.abs(dy) / np.maximum(bp - inset_post, 5.0)
        back = np.cbrt(qx * qx * qx + qb * qb * qb)
        qf = dy / np.maximum(ba - inset_ant, 5.0)
        front = np.sqrt(qx * qx + qf * qf)
        f = np.where(posterior, back, front)
        return (r * (1.0 - 1.0 / np.maximum(f, 1e-9))).astype(np.float32)

    def bbox(self, z_lo, z_hi):
        zs = np.linspace(z_lo, z_hi, 50)
        cy, a, bp, ba = self.params(zs)
        return (np.array([-a.max(), (cy - ba).min(), z_lo]), np.array([a.max(), (cy + bp).max(), z_hi]))


@dataclass
class Paint:
    """One painting step: a shape, the label it writes, its HU and tissue class."""

    shape: object
    label: str | None
    hu: float | object
    tissue: int
    overwrite: tuple[str, ...] | None = None  # only overwrite these labels (None: anything)


# Tissue classes for texture (see ct.py).
T_NONE, T_FAT, T_MUSCLE, T_SOFT, T_CANCELLOUS, T_FLUID, T_GAS, T_BOWEL, T_BONE = range(9)


def body_layers(outline: BodyOutline, z_lo: float, z_hi: float) -> list[Paint]:
    lo, hi = outline.bbox(z_lo, z_hi)
    fat = outline.fat_mm
    wall = 11.0

    def shape(name, lat, post, ant):
        return FunctionShape(name, lo, hi, lambda x, y, z: outline.sdf(x, y, z, lat, post, ant))

    return [
        Paint(shape("skin", 0, 0, 0), "skin", 35.0, T_SOFT),
        Paint(shape("subcutaneous_fat", 2.2, 2.2, 2.2), "subcutaneous_fat", -105.0, T_FAT),
        Paint(shape("muscle", 2.2 + 1.5 * fat, 2.2 + fat, 2.2 + 1.4 * fat), "muscle", 48.0, T_MUSCLE),
        Paint(
            shape("visceral_fat", 2.2 + 1.5 * fat + wall, 2.2 + fat + 6, 2.2 + 1.4 * fat + wall),
            "visceral_fat",
            -98.0,
            T_FAT,
        ),
    ]


def muscles(
    spine: Spine, profile: SpineProfile, outline: BodyOutline, morph: Morphometry, z_lo, z_hi, crest_z
) -> list[Paint]:
    paints = []
    bulk = {"slim": 0.9, "average": 1.0, "obese": 1.05}[morph.habitus] * morph.scale
    fat = outline.fat_mm
    # Paraspinals (erector spinae + multifidus): between the spinous processes and the fascia.
    for side, s in (("left", 1), ("right", -1)):

        def para(x, y, z, s=s):
            lam = profile.at("lamina_y_mm", z)
            back = profile.at("back_bone_y_mm", z)
            top = back + 4.0
            cy = 0.5 * (lam + top) + 2.0
            half_ap = 0.5 * (top - lam) + 7.0
            cx = s * 37.0 * bulk
            d = sdf.ellipse2d(x - cx, y - cy, 35.0 * bulk, half_ap)
            d = np.maximum(d, -(s * x) + 3.0)  # not across the midline
            return np.maximum(d, outline.sdf(x, y, z, 0, 2.2 + fat, 0))

        lo = np.array([-80.0 if s < 0 else 0.0, profile.lamina_y_mm.min() - 15, z_lo])
        hi = np.array([0.0 if s < 0 else 80.0, profile.back_bone_y_mm.max() + 30, z_hi])

        def para_hu(x, y, z, d, s=s):
            lam = profile.at("lamina_y_mm", z)
            back = profile.at("back_bone_y_mm", z)
            # fat plane between multifidus (medial, on the laminae) and erector spinae
            septum = (
                np.abs(
                    sdf.ellipse2d(
                        x - s * 16.0 * bulk, y - (0.5 * (lam + back) + 2.0), 15.0 * bulk, 0.5 * (back - lam) + 6.0
                    )
                )
                < 0.9
            )
            return np.where(septum, -60.0, 44.0).astype(np.float32)

        paints.append(Paint(FunctionShape(f"autochthon_{side}", lo, hi, para), f"autochthon_{side}", para_hu, T_MUSCLE))
    # Quadratus lumborum: a flat muscle lateral to the psoas, in front of the transverse process
    # tips, from the 12th rib to the iliac crest.
    for s in (1, -1):
        rows = []
        for name in ("L1", "L2", "L3", "L4"):
            v = spine.vertebrae[name]
            c = v.frame.point(s * (v.dims.tp_span_mm / 2 + 6.0), v.pedicle_v_end - 9.0, 0)
            rows.append((c[2], c[0], c[1], 16.0 + 2.5 * len(rows), 8.0 + 0.8 * len(rows)))
        rows.append((rows[0][0] + 40.0, *rows[0][1:3], 14.0, 7.0))
        rows.append((crest_z - 5.0, *rows[-2][1:3], 12.0, 7.0))
        paints.append(Paint(_ztube("muscle", rows, bulk), "muscle", 46.0, T_MUSCLE))
    # Psoas: alongside the bodies from L1, growing, then forward over the pelvic brim.
    for side, s in (("left", 1), ("right", -1)):
        rows = []
        for name, a, b in (
            ("L1", 7.0, 6.0),
            ("L2", 10.0, 9.0),
            ("L3", 14.0, 12.0),
            ("L4", 17.0, 14.5),
            ("L5", 19.0, 16.0),
        ):
            v = spine.vertebrae[name]
            c = v.frame.point(s * (v.a + a * 0.8), -v.b * 0.1 + (5.0 if name in ("L1", "L2") else 0.0), 0)
            rows.append((c[2], c[0], c[1], a, b))
        s1 = spine.vertebrae["S1"]
        c = s1.frame.point(s * (s1.a + 24.0), -s1.b - 18.0, -5.0)
        rows.append((c[2], c[0], c[1], 19.0, 16.0))
        c = s1.frame.point(s * (s1.a + 36.0), -s1.b - 40.0, -45.0)
        rows.append((c[2], c[0], c[1], 18.0, 15.0))
        rows.append((rows[0][0] + 30.0, *rows[0][1:3], 5.0, 4.0))
        paints.append(Paint(_ztube(f"iliopsoas_{side}", rows, bulk), f"iliopsoas_{side}", 47.0, T_MUSCLE))
    return paints


def _ztube(name: str, rows, bulk: float) -> FunctionShape:
    """A tube of elliptic axial section whose centre and semi-axes vary with z; rows are
    (z, x, y, semi_x, semi_y), any order."""
    arr = np.array(sorted(rows))
    z, cx, cy, ra, rb = (arr[:, c] for c in range(5))
    ra, rb = ra * bulk, rb * bulk

    def fn(x, y, zz):
        zc = np.clip(zz, z[0], z[-1])
        d = sdf.ellipse2d(
            x - np.interp(zc, z, cx), y - np.interp(zc, z, cy), np.interp(zc, z, ra), np.interp(zc, z, rb)
        )
        return np.maximum(d, np.maximum(z[0] - zz, zz - z[-1]))

    lo = np.array([cx.min() - ra.max() - 2, cy.min() - rb.max() - 2, z[0]])
    hi = np.array([cx.max() + ra.max() + 2, cy.max() + rb.max() + 2, z[-1]])
    return FunctionShape(name, lo, hi, fn)


def upper_organs(spine: Spine, outline: BodyOutline, morph: Morphometry, z_hi: float) -> list[Paint]:
    """The liver's right lobe (its tip reaching about L2-L3) and the spleen's lower pole (to
    about L1-L2), both in the upper field of a lumbar CT; unenhanced HU about 55-65 and 45."""
    l1, l2, l3 = (spine.vertebrae[n] for n in ("L1", "L2", "L3"))
    a = outline.semi_lateral_mm
    y0 = l2.frame.origin_lps_mm[1]
    paints = []
    liver_c = np.array([-0.52 * a, y0 - 35.0, l1.frame.origin_lps_mm[2] + 45.0])
    tip_z = 0.5 * (l2.frame.origin_lps_mm[2] + l3.frame.origin_lps_mm[2])

    def liver(x, y, z):
        d = sdf.ellipsoid(x - liver_c[0], y - liver_c[1], z - liver_c[2], 0.42 * a, 75.0, 95.0)
        d = np.maximum(d, tip_z - z + 0.35 * (x - liver_c[0]))  # lower edge rising medially
        return np.maximum(
            d,
            outline.sdf(
                x,
                y,
                z,
                2.2 + 1.5 * outline.fat_mm + 12.0,
                2.2 + outline.fat_mm + 12.0,
                2.2 + 1.4 * outline.fat_mm + 12.0,
            ),
        )

    lo = np.array([-a, y0 - 140.0, tip_z - 5.0])
    hi = np.array([0.0, y0 + 60.0, z_hi + 5.0])
    paints.append(Paint(FunctionShape("liver", lo, hi, liver), "liver", 60.0, T_SOFT))
    spleen_c = np.array([0.55 * a, y0 + 25.0, l1.frame.origin_lps_mm[2] + 40.0])

    def spleen(x, y, z):
        d = sdf.ellipsoid(x - spleen_c[0], y - spleen_c[1], z - spleen_c[2], 30.0, 45.0, 60.0)
        return np.maximum(d, outline.sdf(x, y, z, 2.2 + 1.5 * outline.fat_mm + 12.0, 2.2 + outline.fat_mm + 14.0, 40.0))

    paints.append(Paint(FunctionShape("spleen", spleen_c - 62, spleen_c + 62, spleen), "spleen", 46.0, T_SOFT))
    return paints


def kidneys(spine: Spine, morph: Morphometry) -> list[Paint]:
    paints = []
    for side, s, drop in (("left", 1, 0.0), ("right", -1, 15.0)):
        l2 = spine.vertebrae["L2"]
        disc = spine.discs["L1-L2"].frame.origin_lps_mm
        centre = np.array([s * (l2.a + 50.0) * morph.scale, l2.frame.origin_lps_mm[1] + 14.0, disc[2] - drop])
        yaw, roll = np.radians(35.0) * s, np.radians(12.0) * s
        cz, sz = np.cos(yaw), np.sin(yaw)
        cr, sr = np.cos(roll), np.sin(roll)
        rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        ry = np.array([[cr, 0, sr], [0, 1, 0], [-sr, 0, cr]])
        frame = Frame(centre, rz @ ry)
        semi = np.array([26.0, 21.0, 54.0]) * morph.scale

        def kidney(x, y, z, frame=frame, semi=semi, s=s):
            u, v, w = frame.to_local(x, y, z)
            k = sdf.ellipsoid(u, v, w, *semi)
            sinus = sdf.ellipsoid(u + s * 14.0 - 0.0, v + 4.0, w, 12.0, 9.0, 24.0)
            return np.maximum(k, -sinus)

        r = semi.max() + 2
        paints.append(
            Paint(FunctionShape(f"kidney_{side}", centre - r, centre + r, kidney), f"kidney_{side}", 33.0, T_SOFT)
        )
    return paints


def vessels(spine: Spine, z_lo: float, z_hi: float) -> list[Paint]:
    l4 = spine.vertebrae["L4"]
    s1 = spine.vertebrae["S1"]
    l1 = spine.vertebrae["L1"]
    paints = []

    def front(name, dx, gap):
        v = spine.vertebrae[name]
        return v.frame.point(dx, -v.b - gap, 0)

    top = front("L1", 14.0, 11.0)
    top[2] = z_hi + 5
    aorta = np.array([top, front("L2", 13.0, 11.0), front("L3", 11.0, 11.0), front("L4", 8.0, 11.0) + [0, 0, 6]])
    bif = aorta[-1]
    pts = sdf.spline_through(aorta, 3.0)
    paints.append(Paint(Tube("aorta", pts, np.full(len(pts), 10.0)), "aorta", 42.0, T_SOFT))
    ivc_top = front("L1", -22.0, 12.0)
    ivc_top[2] = z_hi + 5
    ivc = np.array(
        [ivc_top, front("L2", -22.0, 11.0), front("L3", -21.0, 10.0), front("L4", -18.0, 9.0), front("L5", -8.0, 7.0)]
    )
    pts = sdf.spline_through(ivc, 3.0)
    paints.append(Paint(Tube("inferior_vena_cava", pts, np.full(len(pts), 11.0)), "inferior_vena_cava", 40.0, T_SOFT))
    conf = ivc[-1]
    for side, s in (("left", 1), ("right", -1)):
        art = np.array(
            [
                bif,
                front("L5", s * 20.0, 14.0),
                s1.frame.point(s * (s1.a + 12), -s1.b - 20, -20),
                s1.frame.point(s * (s1.a + 26), -s1.b - 34, -70),
            ]
        )
        pts = sdf.spline_through(art, 3.0)
        paints.append(
            Paint(Tube(f"iliac_artery_{side}", pts, np.full(len(pts), 6.0)), f"iliac_artery_{side}", 42.0, T_SOFT)
        )
        vein = np.array(
            [
                conf,
                front("L5", s * 22.0, 6.0) + [0, 0, -14],
                s1.frame.point(s * (s1.a + 10), -s1.b - 12, -20),
                s1.frame.point(s * (s1.a + 22), -s1.b - 26, -70),
            ]
        )
        pts = sdf.spline_through(vein, 3.0)
        paints.append(
            Paint(Tube(f"iliac_vena_{side}", pts, np.full(len(pts), 7.0)), f"iliac_vena_{side}", 40.0, T_SOFT)
        )
    del l4, l1
    return paints


def _noise3(x, y, z, phases: np.ndarray, freq: float):
    """A cheap deterministic smooth random field: a sum of cosines along random directions
    (unit variance), evaluated at any points. On a separable grid (x, y, z shaped (n,1,1),
    (1,n,1), (1,1,n)) it is a sum of products of 1D complex exponentials, 10x faster."""
    scale = np.sqrt(2.0 / len(phases))
    separable = (
        all(np.ndim(a) == 3 for a in (x, y, z))
        and np.shape(x)[1:] == (1, 1)
        and np.shape(y)[::2] == (1, 1)
        and np.shape(z)[:2] == (1, 1)
    )
    if separable:
        out = None
        for row in phases:
            d = row[:3] / np.linalg.norm(row[:3]) * freq * row[4]
            ab = (np.exp(1j * (d[0] * x + row[3])) * np.exp(1j * d[1] * y)).astype(np.complex64)
            term = ab * np.exp(1j * d[2] * z).astype(np.complex64)
            out = term if out is None else np.add(out, term, out=out)
        return (out.real * scale).astype(np.float32)
    out = 0.0
    for row in phases:
        d = row[:3] / np.linalg.norm(row[:3])
        out = out + np.cos(freq * row[4] * (d[0] * x + d[1] * y + d[2] * z) + row[3])
    return out * scale


def peritoneum_and_bowel(
    spine: Spine, profile: SpineProfile, outline: BodyOutline, morph: Morphometry, z_lo, z_hi, rng: np.random.Generator
) -> tuple[list[Paint], FunctionShape]:
    """The peritoneal cavity in front of the retroperitoneum, and bowel loops in it."""
    fat = outline.fat_mm
    inset = 2.2 + 1.45 * fat + 11.0

    def cavity(x, y, z):
        front = profile.at("body_front_y_mm", z)
        centre = profile.at("body_centre_y_mm", z)
        boundary = (front - 28.0) + ((centre + 35.0) - (front - 28.0)) * _smoothstep(45.0, 125.0, np.abs(x))
        d = np.maximum(y - boundary, outline.sdf(x, y, z, inset, inset, inset))
        return d

    lo, hi = outline.bbox(z_lo, z_hi)
    cav = FunctionShape("peritoneal_cavity", lo, hi, cavity)
    paints = [Paint(cav, "peritoneal_cavity", -92.0, T_FAT)]
    # Small bowel: filaments where two smooth random fields are both near zero (a tangle of
    # loops about 25 mm across), with 2.5 mm walls, fluid contents and some gas.
    f_phases = [
        np.column_stack([rng.normal(size=(12, 3)), rng.uniform(0, 2 * np.pi, 12), rng.uniform(0.6, 1.4, 12)])
        for _ in range(3)
    ]
    k = 2 * np.pi / 60.0
    thickness = 0.85

    def loops(x, y, z):
        f1 = _noise3(x, y, z, f_phases[0], k)
        f2 = _noise3(x, y, z, f_phases[1], k)
        field = (np.sqrt(f1 * f1 + f2 * f2) - thickness) / (k * 1.3)
        return np.maximum(field, cavity(x, y, z) + 3.0)

    def loops_hu(x, y, z, d):
        gas = _noise3(x, y, z, f_phases[2], k * 2.5) > 1.35
        content = np.where(gas & (d < -2.0), -990.0, 12.0 + 8.0 * _noise3(x, y, z, f_phases[2], k * 4.0))
        return np.where(d > -2.0, 58.0, content).astype(np.float32)

    paints.append(
        Paint(
            FunctionShape("small_bowel", lo, hi, loops),
            "small_bowel",
            loops_hu,
            T_BOWEL,
            overwrite=("peritoneal_cavity",),
        )
    )
    # Colon: ascending (right), descending (left) and transverse, with mottled stool and gas.
    centre_y = profile.at("body_centre_y_mm", np.array([0.5 * (z_lo + z_hi)]))[0]
    a = outline.semi_lateral_mm
    phases = np.column_stack([rng.normal(size=(10, 3)), rng.uniform(0, 2 * np.pi, 10), rng.uniform(0.6, 1.4, 10)])
    for _name, ctrl in (
        (
            "asc",
            [
                (-a * 0.62, centre_y - 25, z_lo + 20),
                (-a * 0.66, centre_y - 30, 0.5 * (z_lo + z_hi)),
                (-a * 0.6, centre_y - 45, z_hi - 15),
            ],
        ),
        (
            "desc",
            [
                (a * 0.64, centre_y - 10, z_lo + 40),
                (a * 0.68, centre_y - 15, 0.5 * (z_lo + z_hi)),
                (a * 0.62, centre_y - 25, z_hi - 10),
            ],
        ),
        (
            "trans",
            [
                (-a * 0.6, centre_y - 55, z_hi - 15),
                (0.0, centre_y - 105, z_hi - 25),
                (a * 0.62, centre_y - 30, z_hi - 8),
            ],
        ),
    ):
        path = sdf.spline_through(np.array(ctrl, dtype=float), 2.5)
        tube = Tube("colon", path, np.full(len(path), float(rng.uniform(19, 25))))
        paints.append(
            Paint(
                tube,
                "colon",
                _colon_hu(tube, phases),
                T_BOWEL,
                overwrite=("peritoneal_cavity", "small_bowel", "visceral_fat"),
            )
        )
    return paints, cav


def _bowel_hu(tube: Tube, wall_mm: float, gas_level_y: float, content_hu: float):
    def hu(x, y, z, d):
        out = np.where(d > -wall_mm, 42.0, content_hu).astype(np.float32)
        gas = (d <= -wall_mm) & (y < gas_level_y)
        return np.where(gas, -1000.0, out)

    return hu


def _colon_hu(tube: Tube, phases: np.ndarray):
    def hu(x, y, z, d):
        n = _noise3(x, y, z, phases, 0.35)
        out = np.where(n > 0.7, -950.0, 28.0 + 12.0 * n)
        out = np.where(d > -3.0, 40.0, out)
        return out.astype(np.float32)

    return hu
