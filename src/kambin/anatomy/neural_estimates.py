"""Estimates of the dural sac and the nerve roots from the bone labels (and the disc fragments
seen on the CT), as tubes (`Tube`: a centreline with a radius per point). Where the CT shows a
root, it is traced on it afterwards (`neural_on_ct`, `soft_tissue_estimates.trace_neural`).

- Dural sac: a round tube centred in the bony canal (on the canal's midline, halfway between the
  pedicles' medial walls, and at mid-depth), per vertebra, with the
  radius the smallest of the population mean (about 7.2 mm: dural sac area 150-200 mm2 at L3-L4,
  Schonstrom N et al., Spine 1985;10(9):806-811), half the canal's midsagittal depth at the body's
  mid-height (`landmarks`) less the epidural fat (about 1 mm ventrally and dorsally),
  and half the interpedicular width less 2 mm (the lateral recesses hold the roots and fat); 7 %
  narrower at L5-S1 and tapering to its end at S2. The midline is the canal's, not the body
  centre's: a segmentation puts the body centre up to 0.7 mm to one side, and an estimated frame
  turned about its axis (bench patient 4's L4 from the CT, 1.7 degrees) moves the body's midline by
  0.6 mm at the canal, 20 mm behind it, while the medial walls are measured there (the canal's
  midline within 0.4 mm of the truth on the 10 bench patients, both sources; the body centre's
  within 0.7). The 10 bench patients: dural sac centre error, mean per patient, 0.31 -> 0.26 mm
  (true bone) and 0.32 -> 0.27 (CT); Kambin's inscribed circle, see the roots below.
- Nerve roots: root Ln leaves the sac at about the disc above Ln, runs down the lateral recess
  medial to the Ln pedicle (there it is the traversing root of level L(n-1)-Ln), turns under the
  pedicle into the upper part of the Ln-L(n+1) foramen, where its dorsal root ganglion lies (there
  it is the exiting root), and leaves antero-latero-inferiorly toward the psoas (Cohen MS et al.,
  Spine 1990;15(12):1248-1251; Hasegawa T et al., J Bone Joint Surg Am 1995;77(1):32-38). Radius
  2.6 mm and ganglion radius 3.6 mm (Cohen 1990). The S1 root leaves through the first anterior
  sacral foramen. A disc fragment seen on the CT first displaces the centreline as one piece, away
  from the centre of the fragment's disc (`displace_around`, as the phantom's fragments displace its
  roots); the centreline is then pushed 0.4 mm clear of the bone labels, the discs and the fragments.
  The take-off (and the recess, under the pedicle) is placed from the canal's midline, as the sac;
  it lies 1.5 mm inside the sac's nominal radius, L5 and S1 included: their sleeves leave the sac
  at the disc above, where the 7 % caudal narrowing has not yet begun. The 10 bench patients, both
  sources: Kambin's inscribed circle within 1 mm of the truth on all 200 sides (worst 0.88 mm from
  true bone, 0.96 from the CT; mean 0.28 and 0.26). With the fragment pushing each point out on its
  own (`push_out`) it was 199: patient 9's herniated L3-L4 from the CT (2 mm slices) came out 2.08
  mm off (now 0.53), because which face of the fragment a point leaves by turns on tenths of a
  millimetre of the fragment's outline. test_spine_model's herniated patient, its herniated side:
  0.41 mm from true bone, 0.23 from the CT.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kambin.anatomy.disc_estimates import DiscEstimate
from kambin.anatomy.grid_boxes import box_around, grid_points
from kambin.anatomy.labelled_vertebrae import ORDER
from kambin.anatomy.labels import nerve_root_name
from kambin.anatomy.landmarks import SIDES, VertebraLandmarks, pedicle_width_estimate_mm
from kambin.anatomy.tube import Tube, densify
from kambin.geometry.primitives import displace_around, push_out
from kambin.geometry.spline import catmull_rom
from kambin.imaging.volume import Volume

#: Root radius and dorsal root ganglion radius (mm), Cohen 1990.
ROOT_RADIUS_MM = 2.6
DRG_RADIUS_MM = 3.6
#: Dural sac radius, population mean (mm), Schonstrom 1985; epidural fat between sac and canal wall.
DURAL_SAC_RADIUS_MM = 7.2
EPIDURAL_FAT_MM = 1.1
LATERAL_RECESS_MM = 2.0
ROOT_BONE_CLEARANCE_MM = 0.4


# --- sac and roots ---------------------------------------------------------------------------


def spline_tube(control: np.ndarray, radii: np.ndarray, step_mm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A Catmull-Rom spline through the control points (`geometry.spline`), resampled every `step_mm`;
    radii interpolated between the control points."""
    points, rad = catmull_rom(control, np.asarray(radii))
    return densify(points, rad, step_mm)


def sac_centre_local(vert: VertebraLandmarks, take_off: bool = False) -> tuple[float, float]:
    """(v, radius) of the dural sac in a vertebra's frame: mid-canal, fitting the canal (module docstring).

    `take_off`: the radius where the vertebra's root leaves the sac, at the disc above, before the
    sac's caudal narrowing at L5 and S1.
    """
    depth = vert.canal_depth_mm if np.isfinite(vert.canal_depth_mm) else 15.0
    width = vert.canal_width_mm if np.isfinite(vert.canal_width_mm) else 23.0
    v_c = vert.posterior_wall_v_mm + depth / 2 - 0.3
    r = min(
        DURAL_SAC_RADIUS_MM * (0.93 if vert.name in ("L5", "S1") and not take_off else 1.0),
        depth / 2 - EPIDURAL_FAT_MM,
        width / 2 - LATERAL_RECESS_MM,
    )
    return v_c, max(r, 2.0)


def estimate_dural_sac(vertebrae: dict[str, VertebraLandmarks]) -> Tube:
    """The dural sac as a round tube through the canals of the labelled vertebrae (module docstring)."""
    names = [n for n in ORDER if n in vertebrae and n in ("T12", "L1", "L2", "L3", "L4", "L5", "S1")] or list(vertebrae)
    control, radii = [], []
    top = vertebrae[names[0]]
    v_c, r = sac_centre_local(top)
    control.append(top.point(top.canal_centre_u_mm, v_c, top.body_height_mm / 2 + 20.0))
    radii.append(r)
    for name in names:
        vert = vertebrae[name]
        v_c, r = sac_centre_local(vert)
        h, u_c = vert.body_height_mm, vert.canal_centre_u_mm
        if name == "S1":
            control += [
                vert.point(u_c, v_c, h / 2),
                vert.point(u_c, v_c + 0.5, -h / 2 - 6.0),
                vert.point(u_c, v_c + 1.0, -h / 2 - 14.0),
            ]
            radii += [r * 0.85, r * 0.45, 1.2]
        else:
            control += [vert.point(u_c, v_c, h / 2), vert.point(u_c, v_c, -h / 2)]
            radii += [r, r]
    pts, rad = spline_tube(np.array(control), np.array(radii), 2.0)
    return Tube("dural_sac", pts, rad)


def root_control_points(
    vertebrae: dict[str, VertebraLandmarks], name: str, side: str, sac: Tube, discs: dict[str, DiscEstimate]
) -> tuple[np.ndarray, np.ndarray]:
    """Control points (LPS) and radii of root `name` on `side`, from the sac to the psoas (Cohen 1990)."""
    vert = vertebrae[name]
    s = SIDES[side]
    r, g = ROOT_RADIUS_MM, DRG_RADIUS_MM
    i = ORDER.index(name)
    above = ORDER[i - 1] if i > 0 else None
    disc_above = discs.get(f"{above}-{name}")
    disc_h = disc_above.height_mm if disc_above is not None else 9.0
    v_c, r_sac = sac_centre_local(vert, take_off=True)
    pw = (vert.canal_width_mm if np.isfinite(vert.canal_width_mm) else 23.0) / 2
    vp, h = vert.posterior_wall_v_mm, vert.body_height_mm
    ped_u = vert.pedicle_u_mm.get(side, pw + 5.0)
    ped_bottom = vert.pedicle_bottom_w_mm.get(side, h / 2 - 16.0)
    ped_w = pedicle_width_estimate_mm(vert)
    c = vert.canal_centre_u_mm  # the canal's midline (the sac's centre), the medial walls at c +- pw
    local = [
        (c + s * (r_sac - 1.5), v_c + 0.5, h / 2 + 0.75 * disc_h),  # take-off from the sac, at the disc above
        (c + s * (pw - r - 0.8), vp + r + 1.2, h / 2 - 4.0),  # lateral recess, medial to the pedicle
        (c + s * (pw + 0.3), vp + r + 1.6, ped_bottom - r - 0.9),  # turning under the pedicle
    ]
    radii = [r, r, r]
    if name == "S1":
        b = vert.body_half_depth_mm
        local += [
            (c + s * (pw + 4.0), vp - 6.0, ped_bottom - 6.0),  # into the first anterior sacral foramen
            (c + s * (pw + 8.0), -b + 3.0, -h / 2 - 10.0),
            (c + s * (pw + 14.0), -b - 10.0, -h / 2 - 22.0),
        ]
        radii += [r, r, r]
    else:
        local += [
            (s * (ped_u + 1.0), vp + 4.6, ped_bottom - g - 1.0),  # ganglion under the pedicle, upper foramen
            (s * (ped_u + ped_w / 2 + 4.0), vp - 0.5, ped_bottom - g - 11.0),  # leaving antero-latero-inferiorly
            (s * (ped_u + ped_w / 2 + 16.0), vp - 8.0, ped_bottom - 30.0),
        ]
        radii += [g, r * 1.05, r * 1.1]
    return vert.points(np.array(local)), np.array(radii)


def _signed_bone_distance(grid: Volume, bone: np.ndarray, lo_ijk, hi_ijk):
    lo = np.clip(np.floor(lo_ijk).astype(int), 0, np.asarray(grid.shape_ijk) - 1)
    hi = np.clip(np.ceil(hi_ijk).astype(int) + 1, lo + 1, np.asarray(grid.shape_ijk))
    crop = bone[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    sp = grid.spacing_mm
    if crop.any():
        sd = ndimage.distance_transform_edt(~crop, sampling=sp) - ndimage.distance_transform_edt(crop, sampling=sp)
        # a label's surface lies half a voxel beyond its voxel centres (as in `landmarks`): without
        # this the roots kept 0.4 mm from the voxel centres, about 0.1 mm inside the bone's surface.
        # Calibration seeds 40-47 (true bone): exiting root centreline within 15 mm of the foramen 0.36 ->
        # 0.32 mm (mean), Kambin's inscribed circle L5-S1 max 3.40 -> 2.85 mm (L1-L5 0.90 -> 0.82)
        sd -= np.sign(sd) * 0.5 * float(np.mean(sp))
    else:
        sd = np.full(crop.shape, 1e3)

    def fn(p: np.ndarray) -> np.ndarray:
        ijk = grid.lps_to_ijk(p) - lo
        return ndimage.map_coordinates(sd, ijk.T, order=1, mode="nearest")

    return fn


def estimate_root(
    grid: Volume,
    bone: np.ndarray,
    vertebrae: dict[str, VertebraLandmarks],
    name: str,
    side: str,
    sac: Tube,
    discs: dict[str, DiscEstimate],
    fragments: list[tuple[np.ndarray, np.ndarray]] = (),
) -> Tube:
    """The root's course (`root_control_points`), displaced as a piece by each disc fragment seen
    (its mask and its disc's centre: `displace_around`, as the phantom's fragments displace its
    roots), then kept clear of `bone` (any obstacle mask) point by point."""
    control, radii = root_control_points(vertebrae, name, side, sac, discs)
    pts, rad = spline_tube(control, radii, 1.5)
    lo, hi = box_around(grid, pts, 12.0)
    for fragment, disc_centre in fragments:
        fragment_distance = _signed_bone_distance(grid, fragment, lo, hi)
        pts = displace_around(pts, rad, fragment_distance, ROOT_BONE_CLEARANCE_MM, disc_centre)
    distance = _signed_bone_distance(grid, bone, lo, hi)
    movable = np.ones(len(pts), bool)
    movable[:1] = False
    pts = push_out(pts, rad, distance, ROOT_BONE_CLEARANCE_MM, movable, eps=0.5)
    return Tube(nerve_root_name(name, side), pts, rad)


def paint_tube(out: np.ndarray, grid: Volume, tube: Tube, value: int, protect: np.ndarray) -> None:
    """Label the voxels whose centre lies inside the tube, where `protect` is False."""
    lo, hi = box_around(grid, tube.points_lps_mm, float(tube.radii_mm.max()) + 1.0)
    box, pts = grid_points(grid, lo, hi)
    inside = (tube.distance_mm(pts) <= 0).reshape(tuple(s.stop - s.start for s in box))
    region = out[box]
    region[inside & ~protect[box]] = value


def compress_sac(sac: Tube, grid: Volume, herniation: np.ndarray) -> Tube:
    """A herniation indents the dural sac: where the tube overlaps it, the radius shrinks (by at most
    40 %) and the centreline moves away until 0.3 mm clear, as the sac is pushed in a real canal."""
    if not herniation.any():
        return sac
    lo, hi = box_around(grid, sac.points_lps_mm, float(sac.radii_mm.max()) + 12.0)
    distance = _signed_bone_distance(grid, herniation, lo, hi)
    radii = np.asarray(sac.radii_mm, dtype=float).copy()
    overlap = distance(sac.points_lps_mm) - radii - 0.3
    radii -= np.clip(-overlap, 0.0, 0.4 * radii)
    points = push_out(sac.points_lps_mm, radii, distance, 0.3, eps=0.5)
    return Tube(sac.name, points, radii)
