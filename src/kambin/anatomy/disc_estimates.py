"""Estimates of the intervertebral discs from the bone labels, and the disc herniations seen on
the CT:

- Discs (`disc_L4_L5`, ...): the space between the upper body's inferior and the lower body's
  superior rim planes (plus the 1-2 mm endplate concavity), inside the two bodies' footprint and
  bulging 1 mm behind their posterior walls, where the bone labels leave it free.
- Disc herniations (`paint_herniations`): disc-density tissue outside the disc space, found on
  the CT by `anatomy.herniation` and labelled `disc_herniation`; the dural sac and the roots are
  then estimated around each fragment (`neural_estimates`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.anatomy.grid_boxes import box_around, grid_points
from kambin.anatomy.labels import disc_name, label_id
from kambin.anatomy.landmarks import VertebraLandmarks
from kambin.imaging.volume import Volume


@dataclass
class DiscEstimate:
    """One disc from its endplates: centre, unit normal (cranial), mid-disc height, posterior margin."""

    level: str
    upper: str
    lower: str
    centre_lps_mm: np.ndarray
    normal_lps: np.ndarray
    height_mm: float
    posterior_margin_lps_mm: np.ndarray
    posterior_height_mm: float


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def estimate_disc(upper: VertebraLandmarks, lower: VertebraLandmarks) -> DiscEstimate:
    """The disc between two bodies: centre midway between the facing rim-plane centres, normal the
    bisector of their normals, height between the planes along it; posterior margin 1 mm behind
    the mean posterior wall (the annulus bulges slightly beyond the bodies)."""
    a, b = upper.inferior_endplate_centre_lps_mm, lower.superior_endplate_centre_lps_mm
    normal = _unit(-upper.inferior_endplate_normal_lps + lower.superior_endplate_normal_lps)
    centre = 0.5 * (a + b)
    height = float((a - b) @ normal)
    posterior = _unit(upper.axes_lps[:, 1] + lower.axes_lps[:, 1])
    posterior = _unit(posterior - (posterior @ normal) * normal)
    v_post = 0.5 * (
        (upper.point(0, upper.posterior_wall_v_mm, 0) - centre) @ posterior
        + (lower.point(0, lower.posterior_wall_v_mm, 0) - centre) @ posterior
    )
    margin = centre + posterior * (v_post + 1.0)
    # posterior height: between the two rim planes, 1 mm in front of the margin
    p = centre + posterior * v_post
    t_up = ((a - p) @ upper.inferior_endplate_normal_lps) / (normal @ upper.inferior_endplate_normal_lps)
    t_lo = ((b - p) @ lower.superior_endplate_normal_lps) / (normal @ lower.superior_endplate_normal_lps)
    level = f"{upper.name}-{lower.name}"
    return DiscEstimate(level, upper.name, lower.name, centre, normal, height, margin, float(t_up - t_lo))


def paint_disc(
    out: np.ndarray,
    grid: Volume,
    bone: np.ndarray,
    disc: DiscEstimate,
    upper: VertebraLandmarks,
    lower: VertebraLandmarks,
    value: int,
) -> None:
    """Label the disc: between the two rim planes (plus 1.5 mm of endplate concavity), inside the
    bodies' outline (superellipse of their mean half-width and half-depth, +0.7 mm) and in front of
    the posterior margin, where no bone is labelled."""
    a = 0.5 * (upper.body_half_width_mm + lower.body_half_width_mm) + 0.7
    b = 0.5 * (upper.body_half_depth_mm + lower.body_half_depth_mm) + 0.7
    r = max(a, b) + disc.height_mm
    lo, hi = box_around(grid, np.array([disc.centre_lps_mm]), r)
    box, pts = grid_points(grid, lo, hi)
    posterior = _unit(disc.posterior_margin_lps_mm - disc.centre_lps_mm)
    lateral = np.cross(disc.normal_lps, posterior)
    rel = pts - disc.centre_lps_mm
    u, v = rel @ lateral, rel @ posterior
    vc = 0.5 * (
        (upper.body_centre_lps_mm - disc.centre_lps_mm) @ posterior
        + (lower.body_centre_lps_mm - disc.centre_lps_mm) @ posterior
    )
    inside = (np.abs(u) / a) ** 2.6 + (np.abs(v - vc) / b) ** 2.6 <= 1.0
    inside &= v <= (disc.posterior_margin_lps_mm - disc.centre_lps_mm) @ posterior
    # the rim planes' normals point away from their bodies: in the disc both distances are >= -concavity
    d_up = (pts - upper.inferior_endplate_centre_lps_mm) @ upper.inferior_endplate_normal_lps
    d_lo = (pts - lower.superior_endplate_centre_lps_mm) @ lower.superior_endplate_normal_lps
    inside &= (d_up >= -1.5) & (d_lo >= -1.5)
    mask = inside.reshape(tuple(s.stop - s.start for s in box))
    region = out[box]
    region[mask & ~bone[box] & (region == 0)] = value


def paint_herniations(
    out: np.ndarray, ct: Volume, bone: np.ndarray, discs: dict[str, DiscEstimate], notes: list[str]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Label the disc herniations seen on the CT (`anatomy.herniation`) where nothing else is; each
    fragment's mask and its disc's centre (LPS mm)."""
    from kambin.anatomy.herniation import find_herniations

    found = find_herniations(
        ct,
        out,
        bone,
        {
            level: (label_id(disc_name(d.upper, d.lower)), d.centre_lps_mm, d.posterior_margin_lps_mm, d.normal_lps)
            for level, d in discs.items()
        },
    )
    mask = np.zeros(out.shape, dtype=bool)
    for herniation in found:
        mask[tuple(herniation.mask_ijk.T)] = True
        notes.append(
            f"disc herniation seen on the CT at {herniation.level} ({herniation.side}, "
            f"{herniation.volume_mm3:.0f} mm3): disc-density tissue outside the disc space; the roots and the "
            "dural sac are estimated around it"
        )
    if not found:
        notes.append("no disc herniation seen on the CT")
    disc_ids = [label_id(disc_name(d.upper, d.lower)) for d in discs.values()]
    mask &= (out == 0) | np.isin(out, disc_ids)  # a fragment the disc estimate bulged into is a fragment
    out[mask] = label_id("disc_herniation")
    fragments = []
    for herniation in found:
        own = np.zeros(out.shape, dtype=bool)
        own[tuple(herniation.mask_ijk.T)] = True
        fragments.append((own & mask, discs[herniation.level].centre_lps_mm))
    return fragments
