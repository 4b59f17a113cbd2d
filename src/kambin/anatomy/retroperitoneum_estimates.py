"""Estimates of the psoas (in the retroperitoneum, beside the lumbar bodies) and of the peritoneal
cavity (in front of the retroperitoneum), from the CT, the body outline and the bone landmarks:

- Psoas (`iliopsoas_left/right`): muscle-density voxels (15-85 HU after 1 mm smoothing) lateral to
  the lumbar bodies and connected to tissue touching their lateral surfaces.
- Peritoneal cavity: the region of the body in front of the retroperitoneum: anterior to a line
  28 mm in front of the vertebral bodies medially (over the great vessels and psoas), sweeping
  back to 35 mm behind the body centre laterally (the paracolic gutters lateral to the quadratus
  lumborum); below S1 it follows the sacrum's anterior surface; deeper than the subcutaneous
  fat (measured) plus 10 mm of abdominal wall muscle.
  A simple geometric model, deliberately generous.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kambin.anatomy.grid_boxes import box_around, grid_points
from kambin.anatomy.labelled_vertebrae import ORDER
from kambin.anatomy.labels import label_id
from kambin.anatomy.landmarks import SIDES, VertebraLandmarks
from kambin.imaging.volume import Volume

#: Abdominal wall muscle thickness (obliques and transversus, mm) inside the subcutaneous fat.
ABDOMINAL_WALL_MM = 10.0


# --- psoas and peritoneum --------------------------------------------------------------------


def _lumbar(vertebrae: dict[str, VertebraLandmarks]) -> list[VertebraLandmarks]:
    return [vertebrae[n] for n in ORDER if n in vertebrae and n != "S1"]


def paint_psoas(out: np.ndarray, ct: Volume, bone: np.ndarray, vertebrae: dict[str, VertebraLandmarks]) -> None:
    """Psoas: muscle-density tissue beside the lumbar bodies (module docstring)."""
    lumbar = [v for v in _lumbar(vertebrae) if v.name in ("L1", "L2", "L3", "L4", "L5")]
    if not lumbar:
        return
    centres = np.array([v.body_centre_lps_mm for v in lumbar])
    lo, hi = box_around(ct, centres, 70.0)
    box, pts = grid_points(ct, lo, hi)
    shape = tuple(s.stop - s.start for s in box)
    hu = ndimage.gaussian_filter(np.asarray(ct.voxels[box], dtype=np.float32), 1.0 / ct.spacing_mm)
    muscle = (hu > 15) & (hu < 85) & ~bone[box] & (out[box] == 0)
    z = pts[:, 2]
    order = np.argsort(centres[:, 2])
    zc = centres[order, 2]

    def interp(values):
        return np.interp(z, zc, np.asarray(values)[order])

    cx, cy = interp(centres[:, 0]), interp(centres[:, 1])
    a = interp([v.body_half_width_mm for v in lumbar])
    b = interp([v.body_half_depth_mm for v in lumbar])
    z_ok = (z > zc[0] - 25.0) & (z < zc[-1] + 20.0)
    for side, s in SIDES.items():
        lat = s * (pts[:, 0] - cx)
        region = z_ok & (lat > a - 10.0) & (lat < a + 55.0) & (pts[:, 1] > cy - b - 35.0) & (pts[:, 1] < cy + b)
        cand = muscle & region.reshape(shape)
        lab, n = ndimage.label(cand)
        if n == 0:
            continue
        seed = (region & (lat < a + 12.0) & (np.abs(pts[:, 1] - cy) < b)).reshape(shape)
        keep = np.unique(lab[seed & cand])
        keep = keep[keep > 0]
        if not len(keep):
            continue
        sizes = np.bincount(lab.ravel())
        keep = keep[sizes[keep] > 500]
        psoas = np.isin(lab, keep)
        psoas = ndimage.binary_closing(psoas, iterations=2) & region.reshape(shape) & ~bone[box]
        sub = out[box]
        sub[psoas & (sub == 0)] = label_id(f"iliopsoas_{side}")


def paint_peritoneum(
    out: np.ndarray,
    ct: Volume,
    body: np.ndarray,
    vertebrae: dict[str, VertebraLandmarks],
    sacrum: np.ndarray | None = None,
) -> None:
    """Peritoneal cavity: a generous geometric model in front of the retroperitoneum (module docstring)."""
    verts = [vertebrae[n] for n in ORDER if n in vertebrae]
    z_c = np.array([v.body_centre_lps_mm[2] for v in verts])
    y_c = np.array([v.body_centre_lps_mm[1] for v in verts])
    x_c = np.array([v.body_centre_lps_mm[0] for v in verts])
    y_f = np.array([v.point(0, -v.body_half_depth_mm, 0)[1] for v in verts])
    if "S1" in vertebrae and sacrum is not None and sacrum.any():
        # below S1 the boundary follows the sacrum's anterior surface (the pelvic cavity lies in front
        # of it): per axial slice, the most anterior sacral bone within 15 mm of the midline
        s1 = vertebrae["S1"]
        ijk = np.argwhere(sacrum)
        pts = ct.ijk_to_lps(ijk.astype(np.float64))
        pts = pts[np.abs(pts[:, 0] - s1.body_centre_lps_mm[0]) < 15.0]
        pts = pts[pts[:, 2] < s1.body_centre_lps_mm[2] - 10.0]
        if len(pts):
            zk = np.round(pts[:, 2] / 5.0) * 5.0
            rows = [(z, pts[zk == z, 1].min()) for z in np.unique(zk)]
            extra_z = np.array([r[0] for r in rows])
            extra_f = np.array([r[1] for r in rows])
            z_c = np.concatenate([z_c, extra_z])
            y_f = np.concatenate([y_f, extra_f])
            y_c = np.concatenate([y_c, extra_f + s1.body_half_depth_mm])
            x_c = np.concatenate([x_c, np.full(len(rows), s1.body_centre_lps_mm[0])])
    order = np.argsort(z_c)
    shape = ct.shape_ijk
    direction = ct.direction_lps
    if not np.allclose(np.abs(direction), np.eye(3), atol=1e-3):
        # oblique grids: evaluate per voxel (slower, rare for CT)
        ii = np.argwhere(body)
        pts = ct.ijk_to_lps(ii.astype(np.float64))
        keep = _cavity(pts, z_c[order], y_c[order], y_f[order], x_c[order])
        sel = ii[keep]
        sub = out[tuple(sel.T)]
        out[tuple(sel.T)] = np.where(sub == 0, label_id("peritoneal_cavity"), sub)
        return
    # axis-aligned grid: per-axis coordinates
    axes = [ct.ijk_to_lps(np.outer(np.arange(n), np.eye(3)[a]))[:, a] for a, n in enumerate(shape)]
    x, y, z = np.meshgrid(*axes, indexing="ij", sparse=True)
    zz = np.clip(z, z_c.min() - 60.0, z_c.max() + 60.0)
    yc = np.interp(zz, z_c[order], y_c[order])
    yf = np.interp(zz, z_c[order], y_f[order])
    xc = np.interp(zz, z_c[order], x_c[order])
    ax = np.abs(x - xc)
    t = np.clip((ax - 45.0) / 80.0, 0.0, 1.0)
    smooth = t * t * (3 - 2 * t)
    boundary = (yf - 28.0) + ((yc + 35.0) - (yf - 28.0)) * smooth
    cavity = (y < boundary) & body
    # inside the abdominal wall: deeper than the subcutaneous fat plus 10 mm of wall muscle
    depth = coarse_depth_mm(body, ct.spacing_mm)
    cavity &= depth > subcutaneous_fat_mm(ct, body, depth) + ABDOMINAL_WALL_MM
    out[cavity & (out == 0)] = label_id("peritoneal_cavity")


def coarse_depth_mm(mask: np.ndarray, spacing_mm: np.ndarray, step_mm: float = 2.0) -> np.ndarray:
    """Distance (mm) from each voxel of `mask` to its outside, computed on a ~2 mm grid (fast)."""
    f = [max(1, int(round(step_mm / s))) for s in spacing_mm]
    small = mask[:: f[0], :: f[1], :: f[2]]
    d = ndimage.distance_transform_edt(small, sampling=np.asarray(spacing_mm) * f).astype(np.float32)
    idx = np.ix_(*[np.minimum(np.arange(n) // fa, m - 1) for n, fa, m in zip(mask.shape, f, small.shape, strict=True)])
    return d[idx] * mask


def subcutaneous_fat_mm(ct: Volume, body: np.ndarray, depth: np.ndarray) -> float:
    """Depth (mm) of the shallowest muscle under the skin, away from the spine: the subcutaneous fat
    (with the skin). 5th percentile of the depth of muscle-density voxels 3-120 mm deep."""
    step = tuple(max(1, int(round(4.0 / s))) for s in ct.spacing_mm)
    hu = np.asarray(ct.voxels[:: step[0], :: step[1], :: step[2]], dtype=np.float32)
    d = depth[:: step[0], :: step[1], :: step[2]]
    muscle = (hu > 20) & (hu < 90) & (d > 3.0) & (d < 120.0)
    if not muscle.any():
        return 0.0
    return float(np.percentile(d[muscle], 5))


def _cavity(pts, z_c, y_c, y_f, x_c):
    yc = np.interp(pts[:, 2], z_c, y_c)
    yf = np.interp(pts[:, 2], z_c, y_f)
    xc = np.interp(pts[:, 2], z_c, x_c)
    t = np.clip((np.abs(pts[:, 0] - xc) - 45.0) / 80.0, 0.0, 1.0)
    boundary = (yf - 28.0) + ((yc + 35.0) - (yf - 28.0)) * t * t * (3 - 2 * t)
    return pts[:, 1] < boundary
