"""Discs along the body column from the endplate signature, chosen jointly by dynamic programming.

A disc seen along the column is a low-density gap (annulus and nucleus, 60-110 HU; gas in a
vacuum disc) between two bright cortical endplates (300-1000 HU) a few millimetres above and below
it. A vertebral body's interior, however dark (osteoporotic cancellous bone can be as dark as a
disc), has its endplates 10-20 mm away, and an osteophyte bridging a disc's rim does not raise
the density in the disc's centre. So at each height z along the column the mean HU over a patch
of the body's central cross-section is sampled in planes swung through the sagittal tilts that
discs take against the column (up to about 35 degrees at L5-S1: the lumbosacral angle, Roussouly
et al., Spine 30(3), 2005), and the disc score is

    score(z) = min(max HU in [z - 9, z - 2] mm, max HU in [z + 2, z + 9] mm) - HU(z),

the endplate contrast on both sides (the window: half a disc's height, 2-9 mm, lumbar discs are
4-14 mm tall; Pfirrmann et al., Spine 31(18), 2006). The discs are then chosen together by
dynamic programming over the sequence of positions (as chains of vertebrae are found in Glocker
et al., MICCAI 2012 and Klinder et al., Med Image Anal 13(3), 2009): each chosen position gains
its score less a fixed cost, consecutive positions must lie one vertebral segment apart
(`SEGMENT_MM`: a T9 body plus disc is about 24 mm, an L3 about 42 mm; Panjabi et al., Spine
17(3), 1992 and Spine 16(8), 1991), and a step that changes the segment height by more than
`MAX_HEIGHT_CHANGE` from the last one pays for it, because neighbouring segments differ by less
than a fifth in height.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

#: Sagittal tilts of the sampling plane against the column (degrees).
TILTS_DEG = tuple(range(-40, 41, 5))
#: Half-size of the sampled patch: AP and left-right, mm. Well inside a lumbar body (about 35 x 45 mm;
#: T9 about 27 x 35 mm) so that the patch stays off the cortex and the osteophytes at its rim.
PATCH_HALF_AP_MM = 8
PATCH_HALF_LR_MM = 8
#: Where the endplates are sought on each side of a disc's centre (mm): half a disc's height.
ENDPLATE_WINDOW_MM = (2, 9)
#: Disc-to-disc distance along the column (mm): body plus disc, T9 (about 24) to a large L5 (48).
SEGMENT_MM = (18, 52)
#: Endplate contrast (HU) a disc must beat to be worth choosing: a disc (60-110 HU) between
#: cortical endplates (300+ HU once smoothed) gives 150 HU and more; thin osteoporotic endplates
#: seen through 3 mm slices give 40-60. A mid-body dip (the basivertebral vein) can reach that too,
#: but it lies half a segment from the discs, which the spacing rule (SEGMENT_MM) excludes.
MIN_CONTRAST_HU = 40.0
#: A disc's centre never averages this bright over the patch (HU): disc tissue is 60-110 HU, and
#: partial volume with the endplates in 3 mm slices lifts that to 150 at most (measured: VerSe
#: 65-136); a band between two brighter plates inside bone (the fused S1-S2 junction) is brighter.
DISC_MAX_HU = 250.0
#: An end disc of the chain needs a body beyond it: over BEYOND_MM past the disc (after its
#: endplate), the patch averages at least BODY_MIN_HU at its brightest tilt. Soft tissue is 40 HU
#: or less; cancellous bone 100-300, fatty or osteoporotic bone down to about 60 but with its
#: cortex in the patch. Without this, the dark band under the last endplate of the column (L1's
#: top in a crop that stops there) reads as one more disc.
BEYOND_MM = (4, 16)
BODY_MIN_HU = 80.0
#: Relative change of segment height between neighbours beyond which a step is penalised.
MAX_HEIGHT_CHANGE = 0.25
HEIGHT_CHANGE_COST_HU = 200.0


@dataclass(frozen=True)
class DiscCandidate:
    z: int  # working-grid slice of the disc centre on the column
    normal_yz: tuple[float, float]  # unit normal of the disc plane in the sagittal (y, z) plane
    contrast_hu: float


def tilted_profiles(
    smoothed_hu: np.ndarray, x_of_z: np.ndarray, y_of_z: np.ndarray, z_range: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean HU over the central patch in planes through the column, per tilt and z.

    Returns (profiles[tilt, z], tilts_rad). The plane through the column point at z contains the
    left-right axis and the direction (cos t, sin t) in the (y, z) plane, t being the tilt.
    """
    nz = smoothed_hu.shape[2]
    z0, z1 = z_range
    zs = np.arange(z0, z1 + 1, dtype=float)
    # A 2 mm lattice over the patch: the mean of a smoothed CT needs no finer sampling.
    u = np.arange(-PATCH_HALF_AP_MM, PATCH_HALF_AP_MM + 1, 2, dtype=float)
    v = np.arange(-PATCH_HALF_LR_MM, PATCH_HALF_LR_MM + 1, 2, dtype=float)
    tilts = np.radians(TILTS_DEG)
    profiles = np.full((len(tilts), nz), np.nan)
    for k, tilt in enumerate(tilts):
        yy = y_of_z[z0 : z1 + 1, None] + u[None, :] * np.cos(tilt)
        zz = zs[:, None] + u[None, :] * np.sin(tilt)
        shape = (zs.size, u.size, v.size)
        coords = np.stack(
            [
                np.broadcast_to(x_of_z[z0 : z1 + 1, None, None] + v[None, None, :], shape),
                np.broadcast_to(yy[:, :, None], shape),
                np.broadcast_to(zz[:, :, None], shape),
            ]
        ).reshape(3, -1)
        values = ndi.map_coordinates(smoothed_hu, coords, order=1, mode="nearest")
        profiles[k, z0 : z1 + 1] = values.reshape(zs.size, -1).mean(axis=1)
    return profiles, tilts


def endplate_contrast(profiles: np.ndarray) -> np.ndarray:
    """score[tilt, z] = min(brightest within the window below, brightest within the window above) - HU(z)."""
    lo, hi = ENDPLATE_WINDOW_MM
    n = profiles.shape[1]
    filled = np.where(np.isnan(profiles), -1000.0, profiles)
    above = np.full_like(filled, -1000.0)
    below = np.full_like(filled, -1000.0)
    for d in range(lo, hi + 1):
        above[:, : n - d] = np.maximum(above[:, : n - d], filled[:, d:])
        below[:, d:] = np.maximum(below[:, d:], filled[:, : n - d])
    score = np.minimum(above, below) - filled
    score[np.isnan(profiles)] = -np.inf
    return score


def choose_discs(score_of_z: np.ndarray, z_range: tuple[int, int]) -> list[int]:
    """Disc positions (ascending z) maximising sum(score - MIN_CONTRAST_HU) under the spacing rules.

    Dynamic programming over (position, previous position): a chain may start and end anywhere in
    `z_range`; consecutive discs are SEGMENT_MM apart, and a change of segment height of more than
    MAX_HEIGHT_CHANGE against the previous step costs HEIGHT_CHANGE_COST_HU per unit of excess.
    """
    z0, z1 = z_range
    gain = np.where(np.isfinite(score_of_z), score_of_z - MIN_CONTRAST_HU, -np.inf)
    # Only local maxima of the score are candidates (a disc is one position).
    local = ndi.maximum_filter1d(np.where(np.isfinite(gain), gain, -1e9), 7) == gain
    cand = [z for z in range(z0, z1 + 1) if local[z] and gain[z] > -MIN_CONTRAST_HU * 0.5]
    if not cand:
        return []
    m = len(cand)
    zc = np.asarray(cand)
    g = gain[zc]
    lo, hi = SEGMENT_MM
    # best[j, i]: best chain ending with ... -> cand i -> cand j (i < j), or i == j for a chain of one.
    best = np.full((m, m), -np.inf)
    back = np.full((m, m), -1, dtype=np.int64)
    for j in range(m):
        best[j, j] = g[j]
        for i in range(j):
            d = zc[j] - zc[i]
            if d < lo or d > hi:
                continue
            # Previous links h -> i, with i's own best, or i as a chain start.
            prev = best[i, : i + 1].copy()
            for h in range(i):
                if np.isfinite(prev[h]):
                    ratio = d / (zc[i] - zc[h])
                    excess = max(0.0, abs(np.log(ratio)) - np.log1p(MAX_HEIGHT_CHANGE))
                    prev[h] -= HEIGHT_CHANGE_COST_HU * excess / np.log1p(MAX_HEIGHT_CHANGE)
            h = int(np.argmax(prev))
            best[j, i] = prev[h] + g[j]
            back[j, i] = h
    j, i = np.unravel_index(int(np.argmax(best)), best.shape)
    chain = [int(j)]
    while i != j:
        chain.append(int(i))
        j, i = i, back[j, i]
    return sorted(int(zc[k]) for k in chain)


def find_disc_candidates(
    smoothed_hu: np.ndarray, x_of_z: np.ndarray, y_of_z: np.ndarray, z_range: tuple[int, int]
) -> list[DiscCandidate]:
    """The discs along the column (ascending z), each with its best tilt and endplate contrast."""
    # Profiles over the whole volume (the check for a body beyond an end disc looks past the
    # column's solid run); discs are chosen within z_range only.
    nz = smoothed_hu.shape[2]
    profiles, tilts = tilted_profiles(smoothed_hu, x_of_z, y_of_z, (0, nz - 1))
    score = endplate_contrast(profiles)
    score[profiles > DISC_MAX_HU] = -np.inf
    outside = np.ones(nz, dtype=bool)
    outside[z_range[0] : z_range[1] + 1] = False
    score[:, outside] = -np.inf
    best_tilt = np.argmax(score, axis=0)
    best = score[best_tilt, np.arange(score.shape[1])]
    chosen = choose_discs(best, z_range)
    brightest = np.nanmax(np.where(np.isnan(profiles), -np.inf, profiles), axis=0)

    def body_beyond(z: int, direction: int) -> bool:
        a, b = z + direction * BEYOND_MM[0], z + direction * BEYOND_MM[1]
        lo, hi = sorted((a, b))
        values = brightest[max(lo, 0) : min(hi, nz - 1) + 1]
        values = values[np.isfinite(values)]
        if values.size < (BEYOND_MM[1] - BEYOND_MM[0]) // 2:
            return True  # the column ends (the crop's edge): nothing to refute the disc with
        return float(np.median(values)) >= BODY_MIN_HU

    while chosen and not body_beyond(chosen[-1], +1):
        chosen.pop()
    while chosen and not body_beyond(chosen[0], -1):
        chosen.pop(0)
    out = []
    for z in chosen:
        t = tilts[best_tilt[z]]
        out.append(DiscCandidate(z, (-float(np.sin(t)), float(np.cos(t))), float(best[z])))
    return out

