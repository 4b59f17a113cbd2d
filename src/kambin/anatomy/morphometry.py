"""Morphometry of the lumbar spine from landmarks, bone labels and the soft-tissue estimates:
the foramen (Hasegawa 1995), Kambin's triangle and its inscribed circle, the bony canal's area,
disc heights, the iliac crest top and the skin behind each level, and the clinical flags.

Definitions are those of `kambin.phantom.measure` (the phantom's ground truth), so that measured
and true values compare like with like:

- Foramen (Hasegawa T et al., J Bone Joint Surg Am 1995;77(1):32-38), in the parasagittal plane
  through the pedicles: height the largest free vertical run from the upper pedicle's lower margin
  to the lower pedicle's upper margin, in front of the articular processes (the first bone at
  mid-disc level behind the disc is the foramen's posterior wall; behind it a run can reach from a
  lamina to the next vertebra and is no foramen); width the free antero-posterior run at mid-disc level from
  the disc back to the articular processes; area the free region between those margins.
- Kambin's triangle (Kambin P, Clin Orthop 1991; Mirkovic SR et al., Spine 1995;20(18):1965-1971;
  Hoshide R et al., Cureus 2016), projected on the posterior disc surface in the lower vertebra's
  frame: base on the lower vertebra's superior endplate from the traversing root or dural sac
  (whichever is more lateral) to the exiting root; height up the medial side to the exiting root;
  hypotenuse along the exiting root's inferomedial edge (`kambin.geometry.kambin_triangle`, the
  phantom's construction too). Largest inscribed circle of a right
  triangle: diameter = base + height - hypotenuse.
- Canal area: the enclosed hole between body, pedicles and laminae in the axial plane of the
  pedicles' mid-height.

Flags: foraminal stenosis when the foraminal height is under 15 mm (Hasegawa 1995: root
compression at heights <= 15 mm); central stenosis when the canal area is under 100 mm^2
(Schonstrom N et al., Spine 1985;10(9):806-811 and Hamanishi C et al., Spine 1994;19(24):2813:
under 100 mm^2 of dural sac area is absolute stenosis; applied here to the bony canal, an upper
bound of the sac's); disc height loss when the posterior disc height is at most 4 mm (Hasegawa
1995) or the mid-disc height is under 70 % of the level's mean (Twomey LT, Taylor JR, Clin Orthop
1987;224:97-104).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from kambin.anatomy.disc_estimates import DiscEstimate
from kambin.anatomy.landmarks import SIDES, VertebraLandmarks
from kambin.anatomy.tube import Tube
from kambin.geometry.foramen import foramen_in_plane
from kambin.geometry.kambin_triangle import kambin_triangle as shared_kambin_triangle
from kambin.imaging.volume import Volume

FORAMINAL_STENOSIS_HEIGHT_MM = 15.0  # Hasegawa 1995
CENTRAL_STENOSIS_AREA_MM2 = 100.0  # Schonstrom 1985; Hamanishi 1994
POSTERIOR_DISC_HEIGHT_LOSS_MM = 4.0  # Hasegawa 1995
DISC_HEIGHT_LOSS_FRACTION = 0.7
#: Mean mid-disc height per level (mm), Twomey & Taylor 1987 (as in kambin.phantom.morphometry).
DISC_HEIGHT_MEAN_MM = {"L1-L2": 8.8, "L2-L3": 9.8, "L3-L4": 10.6, "L4-L5": 11.4, "L5-S1": 11.0}
GRID_MM = 0.25


@dataclass
class DiscFrame:
    """The disc's local frame: u (left), v (posterior), w (the disc normal, cranial)."""

    origin: np.ndarray
    axes: np.ndarray  # columns u, v, w

    @classmethod
    def of(cls, disc: DiscEstimate) -> DiscFrame:
        w = disc.normal_lps / np.linalg.norm(disc.normal_lps)
        v = disc.posterior_margin_lps_mm - disc.centre_lps_mm
        v = v - (v @ w) * w
        v /= np.linalg.norm(v)
        u = np.cross(v, w)
        return cls(disc.centre_lps_mm, np.column_stack([u, v, w]))

    def points(self, uvw: np.ndarray) -> np.ndarray:
        return np.asarray(uvw, dtype=np.float64) @ self.axes.T + self.origin

    def local(self, lps: np.ndarray) -> np.ndarray:
        return (np.asarray(lps, dtype=np.float64) - self.origin) @ self.axes


def sample_mask(grid: Volume, mask: np.ndarray, points_lps_mm: np.ndarray) -> np.ndarray:
    """Nearest-voxel lookup of a boolean mask at LPS points (False outside the grid)."""
    ijk = np.rint(grid.lps_to_ijk(points_lps_mm)).astype(int)
    ok = np.all((ijk >= 0) & (ijk < np.asarray(grid.shape_ijk)), axis=1)
    out = np.zeros(len(ijk), bool)
    out[ok] = mask[tuple(ijk[ok].T)]
    return out


def foramen(
    grid: Volume,
    hard: np.ndarray,
    soft: np.ndarray,
    upper: VertebraLandmarks,
    lower: VertebraLandmarks,
    disc: DiscEstimate,
    side: str,
) -> dict:
    """Foraminal height, width, area (mm, mm^2) and centre (LPS) on `side` (module docstring).

    `hard`: bone labels (both vertebrae, osteophytes); `soft`: disc and herniation labels.
    """
    frame = DiscFrame.of(disc)
    u = SIDES[side] * 0.5 * (upper.pedicle_u_mm.get(side, 20.0) + lower.pedicle_u_mm.get(side, 20.0))
    v_post = float(frame.local(disc.posterior_margin_lps_mm)[1])
    vs = np.arange(v_post - 12.0, v_post + 22.0, GRID_MM)
    ws = np.arange(-upper.body_height_mm, upper.body_height_mm, GRID_MM)
    vv, ww = np.meshgrid(vs, ws, indexing="ij")
    pts = frame.points(np.column_stack([np.full(vv.size, u), vv.ravel(), ww.ravel()]))
    bone, disc_tissue = (sample_mask(grid, mask, pts).reshape(vv.shape) for mask in (hard, soft))
    found = foramen_in_plane(bone, disc_tissue, vs, ws, v_post, GRID_MM)
    centre_vw = found.pop("centre_vw") or (v_post + 3.0, 0.0)
    return {**found, "centre_lps_mm": frame.points(np.array([[u, *centre_vw]]))[0]}


def kambin_triangle(lower: VertebraLandmarks, side: str, exiting: Tube, traversing: Tube, sac: Tube) -> dict:
    """Kambin's triangle on `side` in the lower vertebra's frame (module docstring): vertices (LPS),
    base, height, hypotenuse, area (mm, mm^2) and the inscribed circle's diameter."""
    return shared_kambin_triangle(
        lower.local,
        lower.point,
        SIDES[side],
        float(lower.local(lower.superior_endplate_centre_lps_mm)[2]),
        lower.posterior_wall_v_mm + 1.0,
        exiting,
        traversing,
        sac,
    )


def canal_section(grid: Volume, bone: np.ndarray, vert: VertebraLandmarks) -> dict:
    """The bony canal at the pedicles' mid-height: area (mm^2) and centre (LPS), or area None when
    the hole is not enclosed (an open arch, or the arch not in the label map)."""
    w = (
        float(np.mean([vert.local(p)[2] for p in vert.pedicle_centre_lps_mm.values()]))
        if vert.pedicle_centre_lps_mm
        else 0.0
    )
    us = np.arange(-30.0, 30.0, GRID_MM)
    vs = np.arange(vert.posterior_wall_v_mm - 6.0, vert.posterior_wall_v_mm + 40.0, GRID_MM)
    uu, vv = np.meshgrid(us, vs, indexing="ij")
    pts = vert.points(np.column_stack([uu.ravel(), vv.ravel(), np.full(uu.size, w)]))
    solid = sample_mask(grid, bone, pts).reshape(uu.shape)
    seed_v = vert.posterior_wall_v_mm + (vert.canal_depth_mm / 2 if np.isfinite(vert.canal_depth_mm) else 7.0)
    i, j = int(np.argmin(np.abs(us))), int(np.argmin(np.abs(vs - seed_v)))
    comps, _ = ndimage.label(~solid)
    c = comps[i, j]
    centre = vert.point(0.0, seed_v, w)
    if c == 0:
        return {"area_mm2": None, "centre_lps_mm": centre}
    hole = comps == c
    if hole[0, :].any() or hole[-1, :].any() or hole[:, 0].any() or hole[:, -1].any():
        return {"area_mm2": None, "centre_lps_mm": centre}
    rows = np.argwhere(hole)
    centre = vert.point(float(us[rows[:, 0]].mean()), float(vs[rows[:, 1]].mean()), w)
    return {"area_mm2": float(hole.sum() * GRID_MM * GRID_MM), "centre_lps_mm": centre}


def iliac_crest_tops(
    ct: Volume, labels: np.ndarray, ids: dict[str, int], vertebrae: dict[str, VertebraLandmarks]
) -> dict[str, np.ndarray]:
    """Top (most cranial point) of each iliac crest: from the hip labels when present, else from the
    bone (HU > 250) lateral to the sacrum that no vertebra label holds."""
    out = {}
    grid = ct
    for side in SIDES:
        key = f"hip_{side}"
        if key in ids:
            mask = labels == ids[key]
        else:
            mask = None
        if mask is not None and mask.any():
            out[side] = _top_cap(grid, np.argwhere(mask))
    missing = [s for s in SIDES if s not in out]
    if not missing or "S1" not in vertebrae:
        return out
    s1 = vertebrae["S1"]
    lo_z = s1.body_centre_lps_mm[2] - 80.0
    hi_z = s1.body_centre_lps_mm[2] + 90.0
    labelled = labels > 0
    bone = (np.asarray(ct.voxels) > 250) & ~ndimage.binary_dilation(labelled, iterations=2)
    ijk = np.argwhere(bone)
    if not len(ijk):
        return out
    pts = ct.ijk_to_lps(ijk.astype(np.float64))
    for side in missing:
        s = SIDES[side]
        lat = s * (pts[:, 0] - s1.body_centre_lps_mm[0])
        sel = (lat > 40.0) & (lat < 160.0) & (pts[:, 2] > lo_z) & (pts[:, 2] < hi_z)
        sel &= np.abs(pts[:, 1] - s1.body_centre_lps_mm[1]) < 90.0
        if sel.sum() < 50:
            continue
        sub = np.zeros(bone.shape, bool)
        sub[tuple(ijk[sel].T)] = True
        lab, n = ndimage.label(sub)
        sizes = np.bincount(lab.ravel())[1:]
        biggest = lab == int(np.argmax(sizes)) + 1
        out[side] = _top_cap(grid, np.argwhere(biggest))
    return out


def _top_cap(grid: Volume, ijk: np.ndarray) -> np.ndarray:
    pts = grid.ijk_to_lps(ijk.astype(np.float64))
    top = pts[:, 2].max()
    cap = pts[pts[:, 2] > top - 1.0]
    return np.array([cap[:, 0].mean(), cap[:, 1].mean(), top + 0.5 * grid.spacing_mm[2]])


def skin_behind(
    body: np.ndarray, grid: Volume, point_lps_mm: np.ndarray, direction_lps: np.ndarray
) -> np.ndarray | None:
    """Where a ray from `point_lps_mm` along `direction_lps` leaves the body (the skin), or None."""
    d = direction_lps / np.linalg.norm(direction_lps)
    t = np.arange(0.0, 400.0, 0.5)
    pts = point_lps_mm + np.outer(t, d)
    inside = sample_mask(grid, body, pts)
    if not inside[0]:
        return None
    out = np.flatnonzero(~inside)
    if not len(out):
        return None
    return pts[out[0] - 1] + 0.25 * d


def flags(foraminal_height_mm: float | None, canal_area_mm2: float | None, disc: DiscEstimate | None) -> list[str]:
    """Clinical flags (module docstring for the thresholds and sources)."""
    out = []
    if foraminal_height_mm is not None and foraminal_height_mm < FORAMINAL_STENOSIS_HEIGHT_MM:
        out.append("foraminal stenosis")
    if canal_area_mm2 is not None and canal_area_mm2 < CENTRAL_STENOSIS_AREA_MM2:
        out.append("central stenosis")
    if disc is not None:
        mean = DISC_HEIGHT_MEAN_MM.get(disc.level)
        if disc.posterior_height_mm <= POSTERIOR_DISC_HEIGHT_LOSS_MM or (
            mean is not None and disc.height_mm < DISC_HEIGHT_LOSS_FRACTION * mean
        ):
            out.append("disc height loss")
    return out
