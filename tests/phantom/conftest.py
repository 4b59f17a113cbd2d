"""Shared synthetic patients, built once per session (coarse grids except one 1 mm build)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kambin.phantom import make_patient

_CACHE: dict = {}


def build(seed: int = 0, spacing: float = 2.0, **options):
    key = (seed, spacing, tuple(sorted(options.items())))
    if key not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            _CACHE[key] = make_patient(seed, spacing_mm=(spacing,) * 3, **options)
    return _CACHE[key]


@pytest.fixture(scope="session")
def default_patient():
    """Seed 0, no pathology, the default 1 mm grid."""
    return build(0, 1.0)


@pytest.fixture(scope="session")
def coarse_patient():
    return build(0, 2.0)


def incentre(triangle) -> np.ndarray:
    a, b, c = (np.asarray(p, dtype=float) for p in triangle)
    la, lb, lc = np.linalg.norm(b - c), np.linalg.norm(a - c), np.linalg.norm(a - b)
    return (la * a + lb * b + lc * c) / (la + lb + lc)


def clear_transforaminal_paths(patient, level: str, side: str, clearance_mm: float = 1.0, max_tilt_deg: int = 25):
    """(skin distance from midline mm, axial angle deg, cranio-caudal tilt deg) of straight paths
    to the incentre of Kambin's triangle that stay `clearance_mm` away from all bone; entry
    10-14 cm from the midline, 25-35 deg from the horizontal (coronal) plane, tilted cranio-caudally
    by up to 25 deg (the usual caudal angulation of an L5-S1 needle)."""
    lv = getattr(patient.truth.levels[level], side)
    target = incentre(lv.kambin_triangle_lps_mm)
    s = 1 if side == "left" else -1
    found = []
    for lateral in (100, 110, 120, 130, 140):
        for axial in (25, 30, 35):
            for tilt in range(-max_tilt_deg, max_tilt_deg + 1, 5):
                a, b = np.radians(axial), np.radians(tilt)
                d = np.array([s * np.cos(a) * np.cos(b), np.sin(a) * np.cos(b), np.sin(b)])
                length = (lateral - abs(target[0])) / abs(d[0])
                pts = target + np.arange(2.0, length, 1.0)[:, None] * d
                if patient.bone_sdf(pts).min() > clearance_mm:
                    found.append((lateral, axial, tilt))
    return found


@pytest.fixture(scope="session")
def patient_factory():
    """build(seed, spacing, **options) -> Patient, cached for the session."""
    return build


@pytest.fixture(scope="session")
def transforaminal_paths():
    return clear_transforaminal_paths
