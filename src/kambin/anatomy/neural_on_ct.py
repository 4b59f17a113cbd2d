"""The nerve roots (and, in principle, the dural sac), seen on the CT where fat outlines them.

Only the roots are traced in kambin today: traced the same way, the sac's label was less accurate
than its estimate on the calibration patients (`soft_tissue_estimates.trace_neural`).

CT shows the thecal sac (CSF, about 0 to 15 HU) and the nerve roots and their ganglia (about 20 to
40 HU) wherever epidural or foraminal fat (about -100 HU) surrounds them: in the lumbar canal and in
the upper part of each intervertebral foramen (Haughton & Williams, Computed Tomography of the
Spine, 1982; Hasegawa et al., Spine 20(14), 1995, for the foraminal fat around the ganglion).
Where they lie against muscle (the psoas), disc or ligament they are not told apart on CT, and the
anatomical estimate (`soft_tissue_estimates`) stands.

Method: each estimated tube (the sac, a root) is cut every millimetre by the plane normal to its
centreline; in that section the smoothed CT (Gaussian, sigma 0.6 mm) is thresholded to the band of
neural tissue and CSF (-40 to 50 HU, bone excluded), and the connected region nearest the estimated
centre is taken as the structure's section when it is closed (it does not reach the edge of the
search disc), its area is plausible for the structure, fat makes up most of its rim, and it is
about convex (a tube's section is an ellipse). A section that passes is "seen": its pixels are the
structure there, with a small uncertainty. Between and beyond seen sections the estimate is shifted
by the nearest seen section's offset, fading over `OFFSET_FADE_MM` and across a bend
(`BEND_POWER`), and its uncertainty grows with the distance to the nearest seen section
(`SeenUncertainty`), up to the estimate's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from kambin.anatomy.tube import densify
from kambin.imaging.volume import Volume

BAND_HU = (-40.0, 50.0)  # CSF and nerve above fat, below muscle, ligament and disc
SMOOTHING_MM = 0.6
SECTION_STEP_MM = 0.5
SAMPLE_STEP_MM = 1.0
OFFSET_FADE_MM = 15.0
#: Below this share of its centreline seen, a structure's few "seen" sections are not trusted (on
#: the synthetic patients a root 5 % seen was seen wrongly, one 10 % or more never).
MIN_SEEN_FRACTION = 0.1
#: A tube's section is an ellipse, convex: a region whose area is under this share of its convex hull's
#: joins the structure to something beside it (near a bend, the root above and its ganglion beside it in
#: one section), and its centre is not the tube's. The partial-volume halo of bone (smoothed) passes
#: through the band of neural HU: pixels within `BONE_HALO_PIXELS` (1.5 mm) of bone are left out of the
#: check, so that a root against bone stays seen.
MIN_SOLIDITY = 0.85
BONE_HALO_PIXELS = 3
#: A seen section's offset is carried to the unseen samples near it (fading over `OFFSET_FADE_MM`) only
#: along the same stretch of tube: weighted by cos^4 of the angle between the two samples' directions,
#: so that the ganglion's offset in the foramen does not move the root's descent in the lateral recess
#: beyond its bend. With the convexity check, fitted on calibration seeds 40-47 (true bone labels):
#: Kambin's inscribed circle L1-L5 max 1.24 -> 0.97 mm, mean 0.47 -> 0.37 (L5-S1 max 3.00 -> 2.95,
#: mean 0.71 -> 0.86), exiting root centreline within 15 mm of the foramen 0.36 -> 0.28 mm (mean);
#: checked on the 10 bench_anatomy patients: L1-L5 max 1.74 -> 1.74, mean 0.46 -> 0.35, L5-S1 max 1.14
#: -> 0.78, mean 0.38 -> 0.33, centreline 0.35 -> 0.27. Tried and left out: dropping runs of seen
#: sections shorter than 3 mm (calibration mean 0.37 -> 0.32 at L1-L5, but a test patient's L5-S1 circle
#: 0.21 -> 1.21 mm, the L4-L5 herniation's displaced L5 root losing its seen sections).
BEND_POWER = 4.0


@dataclass(frozen=True)
class SectionRule:
    """When a section of the band counts as the structure seen.

    search_mm: radius of the section searched around the estimated centre;
    max_shift_mm: how far from the estimated centre the region may lie (its nearest pixel);
    area_ratio: (low, high) of the region's area over the estimated section's area;
    min_fat_fraction: share of the region's rim that must be fat.
    """

    search_mm: float
    max_shift_mm: float
    area_ratio: tuple[float, float]
    min_fat_fraction: float


ROOT_RULE = SectionRule(search_mm=9.0, max_shift_mm=5.0, area_ratio=(0.4, 3.0), min_fat_fraction=0.5)


@dataclass(frozen=True)
class SeenUncertainty:
    """How far (mm) a structure may reach beyond its label: `seen_mm` on a seen section, growing by
    `per_mm` per millimetre along the centreline away from the nearest seen section, up to the
    estimate's own uncertainty. Measured on synthetic patients (bench/bench_anatomy.py)."""

    seen_mm: float
    per_mm: float


@dataclass
class TracedTube:
    """A tube after tracing: centreline samples (N, 3) LPS mm every `SAMPLE_STEP_MM`, their radii,
    which sections were seen, each seen section's pixel centres (LPS mm) and each sample's distance
    (mm, along the centreline) to the nearest seen section (inf when none was seen)."""

    name: str
    points_lps_mm: np.ndarray
    radii_mm: np.ndarray
    seen: np.ndarray
    sections_lps_mm: dict[int, np.ndarray]
    gap_mm: np.ndarray

    @property
    def seen_fraction(self) -> float:
        return float(self.seen.mean()) if len(self.seen) else 0.0

    def uncertainty_mm(self, rule: SeenUncertainty, estimate_mm: float) -> np.ndarray:
        """Per sample: `rule.seen_mm` where seen, growing with the gap, never above `estimate_mm`."""
        return np.minimum(rule.seen_mm + rule.per_mm * self.gap_mm, estimate_mm)


def _section_basis(tangent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = tangent / max(np.linalg.norm(tangent), 1e-9)
    helper = np.array([0.0, 0.0, 1.0]) if abs(t[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = np.cross(t, helper)
    a /= np.linalg.norm(a)
    return a, np.cross(t, a)


class SmoothedCrop:
    """The CT smoothed over a box, and the bone mask there, sampled at LPS points."""

    def __init__(self, ct: Volume, bone: np.ndarray, low_lps_mm: np.ndarray, high_lps_mm: np.ndarray):
        corners = np.array([[x, y, z] for x in (low_lps_mm[0], high_lps_mm[0])
                            for y in (low_lps_mm[1], high_lps_mm[1]) for z in (low_lps_mm[2], high_lps_mm[2])])
        ijk = ct.lps_to_ijk(corners)
        shape = np.asarray(ct.shape_ijk)
        self.lo = np.clip(np.floor(ijk.min(axis=0)).astype(int) - 2, 0, shape - 1)
        hi = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 3, self.lo + 1, shape)
        box = tuple(slice(a, b) for a, b in zip(self.lo, hi, strict=True))
        sigma = SMOOTHING_MM / np.asarray(ct.spacing_mm)
        self.hu = ndimage.gaussian_filter(np.asarray(ct.voxels[box], dtype=np.float32), sigma)
        self.bone = np.ascontiguousarray(bone[box]).astype(np.uint8)
        self.ct = ct

    def sample(self, points_lps_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ijk = (self.ct.lps_to_ijk(points_lps_mm) - self.lo).T
        hu = ndimage.map_coordinates(self.hu, ijk, order=1, cval=-1000.0)
        bone = ndimage.map_coordinates(self.bone, ijk, order=0, cval=0) > 0
        return hu, bone


def trace_tube(crop: SmoothedCrop, name: str, points_lps_mm: np.ndarray, radii_mm: np.ndarray,
               rule: SectionRule) -> TracedTube:
    """Cut the estimated tube into sections and keep those where the CT shows it (module docstring)."""
    pts, radii = densify(np.asarray(points_lps_mm, float), np.asarray(radii_mm, float), SAMPLE_STEP_MM)
    g = np.arange(-rule.search_mm, rule.search_mm + 1e-6, SECTION_STEP_MM)
    u, v = np.meshgrid(g, g, indexing="ij")
    disc = u**2 + v**2 <= rule.search_mm**2
    rim = disc & ~ndimage.binary_erosion(disc)
    pixel_mm2 = SECTION_STEP_MM**2
    seen = np.zeros(len(pts), bool)
    centres = pts.copy()
    sections: dict[int, np.ndarray] = {}
    for i, p in enumerate(pts):
        a, b = _section_basis(pts[min(i + 1, len(pts) - 1)] - pts[max(i - 1, 0)])
        plane = p + u[..., None] * a + v[..., None] * b
        hu, bone = crop.sample(plane.reshape(-1, 3))
        hu, bone = hu.reshape(u.shape), bone.reshape(u.shape)
        band = (hu > BAND_HU[0]) & (hu < BAND_HU[1]) & ~bone & disc
        regions, count = ndimage.label(band)
        if count == 0:
            continue
        radius = np.hypot(u, v)
        nearest = ndimage.minimum(radius, regions, index=np.arange(1, count + 1))
        k = int(np.argmin(nearest)) + 1
        if nearest[k - 1] > rule.max_shift_mm:
            continue
        region = regions == k
        area = region.sum() * pixel_mm2
        expected = np.pi * radii[i] ** 2
        ring = ndimage.binary_dilation(region) & ~region & disc
        fat = (hu <= BAND_HU[0]) & ~bone
        fat_fraction = (fat & ring).sum() / max(ring.sum(), 1)
        if (
            (region & rim).any()
            or not rule.area_ratio[0] * expected <= area <= rule.area_ratio[1] * expected
            or fat_fraction < rule.min_fat_fraction
            or _solidity(region & ~ndimage.binary_dilation(bone, iterations=BONE_HALO_PIXELS), u, v) < MIN_SOLIDITY
        ):
            continue
        seen[i] = True
        sections[i] = plane[region]
        centres[i] = sections[i].mean(axis=0)
        # The section cuts the tube obliquely where the estimate's direction is off: an ellipse whose
        # minor semi-axis is the radius (a filled ellipse's variance along an axis is a^2 / 4).
        coords = np.stack([u[region], v[region]])
        radii[i] = 2.0 * np.sqrt(max(float(np.linalg.eigvalsh(np.cov(coords))[0]), 0.0))
    if seen.mean() < MIN_SEEN_FRACTION:  # a stray section or two: nothing to trust
        seen[:] = False
        sections, centres, radii = {}, pts.copy(), densify(np.asarray(points_lps_mm, float),
                                                            np.asarray(radii_mm, float), SAMPLE_STEP_MM)[1]
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    gap = np.full(len(pts), np.inf)
    if seen.any():
        seen_arc = arc[seen]
        nearest_seen = np.abs(arc[:, None] - seen_arc[None, :]).argmin(axis=1)
        gap = np.abs(arc - seen_arc[nearest_seen])
        offsets = (centres - pts)[seen][nearest_seen]
        fade = np.clip(1.0 - gap / OFFSET_FADE_MM, 0.0, 1.0)
        tangent = np.gradient(pts, axis=0)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        along = np.clip(np.sum(tangent * tangent[seen][nearest_seen], axis=1), 0.0, 1.0)
        fade = (fade * along**BEND_POWER)[:, None]
        centres = np.where(seen[:, None], centres, pts + fade * offsets)
    return TracedTube(name, centres, radii, seen, sections, gap)


def _solidity(region: np.ndarray, u: np.ndarray, v: np.ndarray) -> float:
    """Area of a section's region over the area of its convex hull (the pixel squares' corners); 1 for
    an empty region."""
    if not region.any():
        return 1.0
    half = 0.5 * SECTION_STEP_MM
    pu, pv = u[region], v[region]
    corners = np.concatenate([np.column_stack([pu + du, pv + dv]) for du in (-half, half) for dv in (-half, half)])
    try:
        hull = ConvexHull(corners)
    except QhullError:
        return 1.0
    return float(len(pu) * SECTION_STEP_MM**2 / hull.volume)


def untraced_tube(name: str, points_lps_mm: np.ndarray, radii_mm: np.ndarray) -> TracedTube:
    """An estimate kept as it is: resampled like a traced tube, no section seen."""
    pts, radii = densify(np.asarray(points_lps_mm, float), np.asarray(radii_mm, float), SAMPLE_STEP_MM)
    return TracedTube(name, pts, radii, np.zeros(len(pts), bool), {}, np.full(len(pts), np.inf))


def paint_traced(out: np.ndarray, uncertainty: np.ndarray, grid: Volume, traced: TracedTube, value: int,
                 sample_uncertainty_mm: np.ndarray, protect: np.ndarray) -> None:
    """Label the traced structure: each seen section's pixels, and the tube elsewhere; write each
    labelled voxel's uncertainty (mm) from its nearest centreline sample. `protect` voxels are kept."""
    from scipy.spatial import cKDTree

    pts, radii = traced.points_lps_mm, traced.radii_mm
    margin = float(radii.max()) + 1.0
    ijk = grid.lps_to_ijk(pts)
    shape = np.asarray(grid.shape_ijk)
    reach = np.ceil(margin / np.asarray(grid.spacing_mm)).astype(int)
    lo = np.clip(np.floor(ijk.min(axis=0)).astype(int) - reach, 0, shape - 1)
    hi = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + reach + 1, lo + 1, shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    idx = np.indices(hi - lo).reshape(3, -1).T + lo
    centres = grid.ijk_to_lps(idx.astype(float))
    dense, dense_r = densify(pts, radii, 0.3)
    d, nearest = cKDTree(dense).query(centres)
    # each dense point's sample: the nearest along the centreline's arc length
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    dense_arc = np.linspace(0.0, arc[-1], len(dense))
    after = np.clip(np.searchsorted(arc, dense_arc), 1, len(pts) - 1)
    dense_sample = np.where(dense_arc - arc[after - 1] < arc[after] - dense_arc, after - 1, after)
    sample = dense_sample[nearest]
    inside = (d <= dense_r[nearest]) & ~traced.seen[sample]
    mask = np.zeros(hi - lo, bool).reshape(-1)
    mask[inside] = True
    mask = mask.reshape(hi - lo)
    unc = np.zeros(hi - lo, np.float32).reshape(-1)
    unc[inside] = sample_uncertainty_mm[sample[inside]]
    unc = unc.reshape(hi - lo)
    for i, section in traced.sections_lps_mm.items():
        vox = np.round(grid.lps_to_ijk(section)).astype(int) - lo
        ok = np.all((vox >= 0) & (vox < hi - lo), axis=1)
        vox = vox[ok]
        mask[tuple(vox.T)] = True
        unc[tuple(vox.T)] = np.maximum(unc[tuple(vox.T)], sample_uncertainty_mm[i])
    mask &= ~protect[box]
    region = out[box]
    region[mask] = value
    region_u = uncertainty[box]
    region_u[mask] = unc[mask]
