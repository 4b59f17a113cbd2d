"""Measurements on the analytic anatomy: foraminal height, width and area (Hasegawa 1995), and
Kambin's triangle (Mirkovic 1995; Hoshide 2016; Kumari 2021), plus the push that keeps roots and sac out
of bone and lesions (so that the label map never has to choose between them)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kambin.phantom.shapes import Tube
from kambin.phantom.spine import SIDES, Spine


def foramen(spine: Spine, level: str, side: str, bone, soft) -> dict:
    """Foramen in the parasagittal plane through the pedicles (Hasegawa 1995): height is the
    largest free vertical run from the upper pedicle's lower margin to the lower pedicle's upper
    margin; width the free antero-posterior run at mid-disc level from the disc (or body) back
    to the articular processes; area the free region between those margins."""
    upper, lower = spine.upper_lower(level)
    disc = spine.discs[level]
    s = SIDES[side]
    u = s * 0.5 * (upper.pedicle_u + lower.pedicle_u)
    res = 0.25
    vs = np.arange(disc.v_posterior_mm - 12.0, disc.v_posterior_mm + 22.0, res)
    ws = np.arange(-upper.h, upper.h, res)
    vv, ww = np.meshgrid(vs, ws, indexing="ij")
    pts = disc.frame.points(np.column_stack([np.full(vv.size, u), vv.ravel(), ww.ravel()]))
    hard = (bone(pts) < 0).reshape(vv.shape)
    free = ~(hard | (soft(pts) < 0).reshape(vv.shape))
    best = (0.0, None)
    for i in range(len(vs)):
        column = hard[i]
        mid = int(np.argmin(np.abs(ws)))
        if column[mid]:
            continue
        above = np.flatnonzero(column[mid:])
        below = np.flatnonzero(column[:mid][::-1])
        if len(above) == 0 or len(below) == 0:
            continue
        top, bottom = ws[mid + above[0]], ws[mid - 1 - below[0]]
        if top - bottom > best[0]:
            best = (float(top - bottom), (i, bottom, top))
    if best[1] is None:
        return {
            "height_mm": 0.0,
            "width_mm": 0.0,
            "area_mm2": 0.0,
            "centre_lps_mm": disc.frame.point(u, disc.v_posterior_mm + 3, 0.0),
        }
    height, (i_best, bottom, top) = best
    band = (ww >= bottom) & (ww <= top)
    comps, _ = ndimage.label(free & band)
    column = comps[i_best]
    labels_in_column = column[column > 0]
    seed = int(np.bincount(labels_in_column).argmax()) if len(labels_in_column) else 0
    region = (comps == seed) if seed else np.zeros_like(free)
    near_mid = np.abs(ws) <= 2.5
    width = float(region[:, near_mid].sum(axis=0).max() * res) if region.any() else 0.0
    rows = np.argwhere(region)
    centre_vw = (
        np.array([vs[rows[:, 0]].mean(), ws[rows[:, 1]].mean()])
        if len(rows)
        else np.array([vs[i_best], 0.5 * (top + bottom)])
    )
    return {
        "height_mm": height,
        "width_mm": width,
        "area_mm2": float(region.sum() * res * res),
        "centre_lps_mm": disc.frame.point(u, centre_vw[0], centre_vw[1]),
    }


def kambin_triangle(spine: Spine, level: str, side: str, exiting: Tube, traversing: Tube, sac: Tube) -> dict:
    """Kambin's triangle projected on the posterior disc surface of the lower vertebra's frame:
    base on the superior endplate of the lower vertebra, medial side along the traversing root
    or dural sac (whichever is more lateral), hypotenuse the exiting root's inferomedial edge."""
    upper, lower = spine.upper_lower(level)
    s = SIDES[side]
    frame = lower.frame
    w_ep = lower.h / 2

    def local(tube):
        p = frame.local_points(tube.points_lps_mm)
        return np.column_stack([s * p[:, 0], p[:, 2]]), tube.radii_mm

    tr, tr_r = local(traversing)
    u_t = _u_at_w(tr, w_ep) + float(np.interp(0.5, [0, 1], [tr_r.mean(), tr_r.mean()]))
    sac_local = frame.local_points(sac.points_lps_mm)
    k = int(np.argmin(np.abs(sac_local[:, 2] - w_ep)))
    u_t = max(u_t, abs(sac_local[k, 0]) + sac.radii_mm[k])
    ex, ex_r = local(exiting)
    border = []
    for n in range(len(ex)):
        a, b = ex[max(n - 1, 0)], ex[min(n + 1, len(ex) - 1)]
        t = (b - a) / max(np.linalg.norm(b - a), 1e-9)
        normal = np.array([-t[1], t[0]])
        if normal[1] > 0:
            normal = -normal
        border.append(ex[n] + ex_r[n] * normal)
    border = np.array(border)
    # lateral vertex: where the border descends through the endplate level, lateral to u_t
    v2 = None
    for n in range(len(border) - 1):
        (u0, w0), (u1, w1) = border[n], border[n + 1]
        if (w0 - w_ep) * (w1 - w_ep) <= 0 and w0 != w1 and max(u0, u1) > u_t:
            t = (w_ep - w0) / (w1 - w0)
            v2 = np.array([u0 + t * (u1 - u0), w_ep])
            break
    if v2 is None:
        v2 = np.array([border[:, 0].max(), w_ep])
    # upper vertex: lowest crossing of the border with u = u_t
    crossings = []
    for n in range(len(border) - 1):
        (u0, w0), (u1, w1) = border[n], border[n + 1]
        if (u0 - u_t) * (u1 - u_t) <= 0 and u0 != u1:
            t = (u_t - u0) / (u1 - u0)
            crossings.append(w0 + t * (w1 - w0))
    w3 = min(crossings) if crossings else float(np.interp(u_t, border[:, 0], border[:, 1]))
    v1 = np.array([u_t, w_ep])
    v3 = np.array([u_t, w3])
    base = float(abs(v2[0] - v1[0]))
    height = float(w3 - w_ep)
    hyp = float(np.hypot(base, height))
    v_plane = lower.v_posterior_wall + 1.0
    verts = [frame.point(s * p[0], v_plane, p[1]) for p in (v1, v2, v3)]
    return {
        "vertices_lps_mm": verts,
        "base_mm": base,
        "height_mm": height,
        "inscribed_diameter_mm": max(base + height - hyp, 0.0),
    }


def _u_at_w(poly: np.ndarray, w: float) -> float:
    for n in range(len(poly) - 1):
        (u0, w0), (u1, w1) = poly[n], poly[n + 1]
        if (w0 - w) * (w1 - w) <= 0 and w0 != w1:
            t = (w - w0) / (w1 - w0)
            return float(u0 + t * (u1 - u0))
    return float(poly[np.argmin(np.abs(poly[:, 1] - w)), 0])
