"""Predicted target registration error of a paired-point registration (Fitzpatrick 1998).

For N fiducials with isotropic, independent, identically distributed localisation error of RMS
magnitude FLE, the expected squared TRE at a target r is (Fitzpatrick, West & Maurer 1998, eq. 46)

    <TRE^2(r)> ~= <FLE^2> / N * (1 + 1/3 * sum_k d_k^2 / f_k^2)

where, in the principal-axis frame of the fiducial configuration, d_k is the distance of the
target from principal axis k and f_k the RMS distance of the fiducials from that axis. When FLE
is not known, it is estimated from the observed FRE with <FRE^2> ~= (1 - 2/N) <FLE^2> (eq. 10).

References
----------
J. M. Fitzpatrick, J. B. West, C. R. Maurer Jr., "Predicting error in rigid-body point-based
registration", IEEE TMI 17(5):694-702, 1998. doi:10.1109/42.736021
"""

from __future__ import annotations

import numpy as np

from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.registration.paired_point import as_points, check_configuration


def fle_from_fre(fre_mm: float, n_fiducials: int) -> float:
    """Estimate RMS FLE (mm) from RMS FRE: FLE^2 = FRE^2 * N / (N - 2) (Fitzpatrick 1998, eq. 10)."""
    if n_fiducials < 3:
        raise UnreliableResultError(f"FLE cannot be estimated from FRE with {n_fiducials} fiducials; need 3 or more")
    return float(fre_mm * np.sqrt(n_fiducials / (n_fiducials - 2)))


def predicted_tre_mm(fiducials: np.ndarray, target: np.ndarray, fle_mm: float) -> float | np.ndarray:
    """Predicted RMS TRE (mm) at each target (3,) or (M, 3), all in the fiducials' frame.

    `fiducials` (N, 3) and `target` must be in the same frame (either the moving or the fixed
    one: the formula depends only on distances). `fle_mm` is the RMS 3D localisation error.
    """
    fiducials = as_points(fiducials, "fiducials")
    check_configuration(fiducials)
    target = np.asarray(target, dtype=np.float64)
    single = target.ndim == 1
    targets = as_points(np.atleast_2d(target), "target")
    if not np.isfinite(fle_mm) or fle_mm < 0:
        raise InvalidInputError(f"FLE must be a finite non-negative length in mm, got {fle_mm}")
    centroid = fiducials.mean(axis=0)
    _, _, axes = np.linalg.svd(fiducials - centroid)  # rows: principal axes
    p_fid = (fiducials - centroid) @ axes.T  # coordinates in the principal frame
    p_tgt = (targets - centroid) @ axes.T
    n = len(fiducials)
    ratio = np.zeros(len(targets))
    for k in range(3):
        others = [j for j in range(3) if j != k]
        f2 = np.mean(np.sum(p_fid[:, others] ** 2, axis=1))  # squared RMS distance from axis k
        d2 = np.sum(p_tgt[:, others] ** 2, axis=1)  # squared distance of the target from axis k
        ratio += d2 / f2
    tre = np.sqrt(fle_mm**2 / n * (1.0 + ratio / 3.0))  # Fitzpatrick 1998 eq. 46
    return float(tre[0]) if single else tre
