"""Contents of the spinal canal and foramina other than neural tissue: epidural fat (posterior
and in the lateral recesses), foraminal fat around the exiting root, and the ligamentum flavum
lining the laminae (about 3-4 mm thick in adults on CT and MRI)."""

from __future__ import annotations

import numpy as np

from kambin.phantom import sdf
from kambin.phantom.shapes import FunctionShape
from kambin.phantom.soft_tissue import T_FAT, T_SOFT, Paint
from kambin.phantom.spine import SIDES, Spine


def canal_paints(spine: Spine) -> list[Paint]:
    paints = []
    for name, vert in spine.vertebrae.items():
        d = vert.dims
        v_c = vert.v_posterior_wall + d.canal_depth_mm / 2
        extent = vert.h / 2 + 7.0

        def canal(x, y, z, vert=vert, v_c=v_c, d=d, extent=extent, name=name):
            u, v, w = vert.frame.to_local(x, y, z)
            e = sdf.ellipse2d(u, v - v_c, d.canal_width_mm / 2 + 1.5, d.canal_depth_mm / 2 + 1.0)
            lim = np.abs(w) - extent if name != "S1" else np.maximum(w - extent, -w - vert.h)
            return np.maximum(e, lim)

        def flavum(x, y, z, vert=vert, v_c=v_c, d=d, extent=extent, canal=canal):
            u, v, w = vert.frame.to_local(x, y, z)
            return np.maximum(canal(x, y, z), (vert.v_posterior_wall + d.canal_depth_mm - 3.4) - v)

        lo, hi = _bbox(
            vert,
            d.canal_width_mm / 2 + 3,
            vert.v_posterior_wall - 2,
            vert.v_posterior_wall + d.canal_depth_mm + 3,
            extent + 2,
        )
        paints.append(Paint(FunctionShape("epidural_fat", lo, hi, canal), "epidural_fat", -92.0, T_FAT))
        paints.append(Paint(FunctionShape("ligamentum_flavum", lo, hi, flavum), "ligamentum_flavum", 62.0, T_SOFT))
    for level, disc in spine.discs.items():
        upper, lower = spine.upper_lower(level)
        for s in SIDES.values():
            u_c = s * (0.5 * (upper.pedicle_u + lower.pedicle_u) + 3.0)
            v_c = disc.v_posterior_mm + 4.0
            w_c = 0.5 * disc.height_mm + 3.0

            def foramen(x, y, z, disc=disc, u_c=u_c, v_c=v_c, w_c=w_c):
                u, v, w = disc.frame.to_local(x, y, z)
                return sdf.ellipsoid(u - u_c, v - v_c, w - w_c, 10.0, 7.5, 15.0)

            c = disc.frame.point(u_c, v_c, w_c)
            paints.append(Paint(FunctionShape("epidural_fat", c - 16, c + 16, foramen), "epidural_fat", -90.0, T_FAT))
    return paints


def _bbox(vert, half_u, v0, v1, half_w):
    corners = np.array([[u, v, w] for u in (-half_u, half_u) for v in (v0, v1) for w in (-half_w - vert.h / 2, half_w)])
    pts = vert.frame.points(corners)
    return pts.min(axis=0), pts.max(axis=0)
