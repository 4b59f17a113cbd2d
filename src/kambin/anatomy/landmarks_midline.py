"""The midsagittal profile of one vertebra, for `kambin.anatomy.landmarks`: the body's posterior wall,
the lamina's front (hence the canal's depth) and the lean of the body's walls.

Method: the label's points near the midline (local u within a few mm) are grouped in rows of w a slice
apart; along v each row's first contiguous run is the body, the next run the lamina (`_midline_runs`).
The canal depth is Panjabi's midsagittal diameter (Panjabi et al., Spine 1992;17(3):299-306), taken beside
the body's mid-height (`_lamina_front_at_mid_height`). The walls' lean, fitted per row against w, gives
the body's sagittal tilt where the endplates cannot (`_sagittal_wall_tilt`). Every surface lies half a
voxel beyond the last voxel centre along v.
"""

from __future__ import annotations

import numpy as np

from kambin.errors import InvalidInputError

#: Most the anterior and posterior walls' leans may differ for their mean to be taken as the body's
#: sagittal tilt (degrees): a lumbar body's walls are about parallel to its axis, the wedge of L5 aside
#: (Panjabi 1992); beyond it one wall's profile holds something else (an osteophyte, a pedicle's root).
WALL_LEAN_AGREEMENT_DEG = 3.0
#: Rows (mm above and below the body's mid-height) over which the canal depth is measured.
CANAL_DEPTH_ROWS_MM = 2.0


def _midline_rows(mid: np.ndarray, step: float) -> list[tuple[float, np.ndarray]]:
    """Midline points (local u, v, w) grouped in rows of w a slice (at least 1 mm) apart: each row's
    mean w and its points' v, sorted."""
    rows = np.round(mid[:, 2] / max(step, 1.0))
    return [(float(np.mean(mid[rows == r, 2])), np.sort(mid[rows == r, 1])) for r in np.unique(rows)]


def _first_run_end(v_sorted: np.ndarray, step: float) -> int | None:
    """Index of the last point of the first run of a row's sorted v (the body's posterior wall, before
    the canal's gap of more than 5 mm or 2.5 voxels), None where the row has no such gap."""
    gaps = np.flatnonzero(np.diff(v_sorted) > max(5.0, 2.5 * step))
    return int(gaps[0]) if len(gaps) else None


def _midline_runs(mid: np.ndarray, step: float, half_v: float) -> tuple[float, float | None]:
    """(posterior end of the first run, anterior start of the second run) of midline points along v,
    each the median over 1 mm rows in w (the body's wall) or their minimum (the lamina's front); the
    surfaces half a voxel (`half_v`, along v) beyond the voxel centres."""
    if len(mid) == 0:
        raise InvalidInputError("vertebra has no bone on its midline")
    by_row = [v for _, v in _midline_rows(mid, step)]
    ends = [float(v[end]) for v in by_row if (end := _first_run_end(v, step)) is not None]
    if not ends:
        v = np.sort(mid[:, 1])
        return float(v[-1] + half_v), None
    v_post = float(np.median(ends))
    starts = [float(v[v > v_post + 3.0].min()) for v in by_row if (v > v_post + 3.0).any()]
    lamina = float(np.percentile(starts, 10)) if starts else None
    return v_post + half_v, (None if lamina is None else lamina - half_v)


def _sagittal_wall_tilt(mid: np.ndarray, height: float, step: float) -> float | None:
    """The body's lean in its sagittal plane (radians, +: the top toward +v) from the anterior surface
    and the posterior wall of midline points `mid` (local u, v, w): per row of w clear of the endplates'
    rims (4 mm), the first point in v and the end of the first run, each fitted against w (least
    squares); their mean, or None where they disagree (`WALL_LEAN_AGREEMENT_DEG`)
    or fewer than 5 rows hold both."""
    ws, fronts, posts = [], [], []
    for w, v in _midline_rows(mid, step):
        end = _first_run_end(v, step)
        if abs(w) > height / 2 - 4.0 or end is None:
            continue
        ws.append(w)
        fronts.append(v[0])
        posts.append(v[end])
    if len(ws) < 5:
        return None
    ws = np.array(ws)

    def lean(values: list[float]) -> float:
        # least squares, not a median of pairwise slopes: a wall leaning less than a voxel per row is a
        # staircase, and most pairs on one step have slope 0, which the median then returns (patient 9's
        # L4: 0.8 degrees for its 3.4); rows more than two slice spacings off a first fit (a pocket, a
        # spur) are left out of the second
        x = np.array(values)
        slope, icpt = np.polyfit(ws, x, 1)
        near = np.abs(x - (slope * ws + icpt)) <= 2.0 * step
        return float(np.polyfit(ws[near], x[near], 1)[0]) if near.sum() >= 5 else float(slope)

    lean_front, lean_post = np.arctan(lean(fronts)), np.arctan(lean(posts))
    if abs(lean_front - lean_post) > np.radians(WALL_LEAN_AGREEMENT_DEG):
        return None
    return float(0.5 * (lean_front + lean_post))


def _lamina_front_at_mid_height(mid: np.ndarray, v_post: float, step: float, half_v: float) -> float | None:
    """The lamina's front on the midline within CANAL_DEPTH_ROWS_MM of the body's mid-height (median
    over 1 mm rows of each row's first bone more than 3 mm behind the posterior wall; the surface half
    a voxel, `half_v`, in front of the voxel centres), or None where no row reaches the lamina.

    The canal depth (Panjabi 1992's midsagittal diameter) is taken beside the body's mid-height, where
    the dural sac lies, not as the narrowest depth over the middle two thirds of the body, where the
    sloping lamina comes forward: that one read 0.4 to 2.1 mm short of the phantom's depth (mean about
    1.1; bench_anatomy seeds 0, 2, 3, 9, true bone), this one -0.3 to +0.9, and the dural sac and the
    roots' take-off (at the sac's edge) estimated from it moved with it: sac centreline error (mean per
    patient, seeds 0, 3, 6, 9) 0.47, 0.45, 0.62, 0.60 -> 0.32, 0.25, 0.24, 0.47 mm; Kambin's inscribed
    circle L1-L5 mean 0.35 -> 0.29 mm (seed 9 L3-L4 left 1.74 -> 0.03; seed 6 L5-S1 right 0.24 -> 1.32).
    S1 (the sacral canal, carved to the phantom's depth) keeps the narrowest depth: measured at
    mid-height, seed 8's L5-S1 circle went 0.49 -> 0.83 mm.
    """
    rows_mid = mid[(np.abs(mid[:, 2]) < CANAL_DEPTH_ROWS_MM) & (mid[:, 1] > v_post + 3.0)]
    if len(rows_mid) < 2:
        return None
    rows = np.round(rows_mid[:, 2] / max(step, 1.0))
    return float(np.median([rows_mid[rows == r, 1].min() for r in np.unique(rows)])) - half_v


def _posterior_wall_and_lamina(
    loc_all: np.ndarray, height: float, step: float, half_v: float, is_sacral: bool
) -> tuple[float, float | None]:
    """(posterior wall, lamina's front) in local v, from the vertebra's points `loc_all` (local u, v, w)
    within 1.5 mm of the midline: the wall over the middle third of the body's `height`, the lamina's
    front beside its mid-height (S1: the narrowest depth), None where no row reaches the lamina."""
    mid = loc_all[np.abs(loc_all[:, 0]) < 1.5]
    v_post, lamina_v = _midline_runs(mid[np.abs(mid[:, 2]) < height / 3] if len(mid) else mid, step, half_v)
    if lamina_v is None:
        upper_mid = mid[mid[:, 2] > 0]
        _, lamina_v = _midline_runs(upper_mid, step, half_v)
    if not is_sacral:
        lamina_v = _lamina_front_at_mid_height(mid, v_post, step, half_v) or lamina_v
    return v_post, lamina_v
