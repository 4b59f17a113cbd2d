"""From painted tissue to a CT image: Hounsfield units, texture, partial-volume blur, noise and
optional streaks.

HU per tissue (unenhanced CT; Hounsfield scale references, e.g. Bushberg JT et al., The
Essential Physics of Medical Imaging, 3rd ed., 2012, table 10-2, and standard abdominal CT
values):
air -1000; fat -120 to -80; CSF 0 to 15; muscle 35 to 55; kidney 30 to 40; blood 35 to 50;
intervertebral disc 50 to 110; cancellous vertebral bone 150 to 300 in adults (Pickhardt 2013);
cortical bone 1000 to 1900. The painted values sit inside those ranges; the blur (a Gaussian
point-spread function of about 1 mm FWHM plus the voxel's own extent) and the correlated noise
(10-20 HU SD) give the spread and the partial-volume edges of a real scan.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kambin.phantom.soft_tissue import T_CANCELLOUS, T_FAT, T_MUSCLE

CORTICAL_HU = 1750.0
HU_TABLE = {
    "air": -1000.0,
    "fat": -105.0,
    "visceral_fat": -98.0,
    "muscle": 46.0,
    "csf": 8.0,
    "nerve": 32.0,
    "disc_annulus": 95.0,
    "disc_nucleus": 75.0,
    "kidney": 33.0,
    "blood": 42.0,
    "skin": 35.0,
    "ligament": 62.0,
    "cortical_bone": CORTICAL_HU,
}
PSF_SIGMA_MM = 0.42  # about 1 mm FWHM, a standard-kernel abdominal reconstruction


def bone_hu(d: np.ndarray, thickness_mm: np.ndarray | float, voxel_mm: float, cancellous_hu: float) -> np.ndarray:
    """HU of a voxel at signed distance d (< 0) inside bone, from the fractions of the voxel
    (a slab of width `voxel_mm` across the surface) in the cortex, the core and outside."""
    lo, hi = d - voxel_mm / 2, d + voxel_mm / 2
    outside = np.clip(hi, 0, None) - np.clip(lo, 0, None)
    cortex = np.clip(np.minimum(hi, 0) - np.maximum(lo, -thickness_mm), 0, None)
    core = voxel_mm - outside - cortex
    return ((cortex * CORTICAL_HU + core * cancellous_hu + outside * 20.0) / voxel_mm).astype(np.float32)


def finish_ct(
    hu: np.ndarray,
    tissue: np.ndarray,
    spacing_mm: np.ndarray,
    seed: int,
    noise_sd_hu: float,
    streaks: bool = False,
    noise: bool = True,
    spine_xy_index: tuple[float, float] | None = None,
) -> np.ndarray:
    """Texture, blur, noise and streaks on the painted HU; returns int16 HU (in place on `hu`)."""
    rng = np.random.default_rng([int(seed), 202])
    spacing = np.asarray(spacing_mm, dtype=float)
    field = rng.standard_normal(hu.shape, dtype=np.float32)
    # Trabecular texture: band-limited around 1 mm, longer along z (the vertical trabeculae of
    # lumbar bodies), 45 HU SD in cancellous bone.
    fine = ndimage.gaussian_filter(field, sigma=np.array([0.7, 0.7, 1.4]) / spacing, mode="nearest")
    fine *= 1.0 / max(float(fine.std()), 1e-6)
    np.add(hu, np.where(tissue == T_CANCELLOUS, 45.0 * fine, 0.0).astype(np.float32), out=hu)
    # Slow heterogeneity of fat and muscle (fatty marbling of the paraspinals).
    coarse = ndimage.gaussian_filter(field, sigma=3.0 / spacing, mode="nearest")
    coarse *= 1.0 / max(float(coarse.std()), 1e-6)
    del fine
    muscle = tissue == T_MUSCLE
    hu[muscle] += 5.0 * coarse[muscle] - 55.0 * np.clip(coarse[muscle] - 1.3, 0, None)
    fat = tissue == T_FAT
    hu[fat] += 6.0 * coarse[fat]
    del coarse, muscle, fat
    # Partial volume: PSF plus the voxel's box profile (sigma of a box = width / sqrt(12)).
    sigma_mm = np.sqrt(PSF_SIGMA_MM**2 + (spacing / np.sqrt(12.0)) ** 2 * 0.6)
    ndimage.gaussian_filter(hu, sigma=sigma_mm / spacing, output=hu, mode="nearest")
    if streaks:
        _add_streaks(hu, spacing, rng, spine_xy_index)
    if noise:
        white = rng.standard_normal(hu.shape, dtype=np.float32)
        ndimage.gaussian_filter(
            white, sigma=np.array([0.55, 0.55, 0.3]) / np.minimum(spacing, 1.0), output=white, mode="wrap"
        )
        white *= noise_sd_hu / max(float(white.std()), 1e-6)
        hu += white
        del white
    np.clip(hu, -1024, 3071, out=hu)
    return np.rint(hu).astype(np.int16)


def _add_streaks(
    hu: np.ndarray, spacing: np.ndarray, rng: np.random.Generator, centre_ij: tuple[float, float] | None
) -> None:
    """Beam-hardening-like streaks: thin dark and bright lines through dense bone per slice."""
    ni, nj, nk = hu.shape
    ci, cj = centre_ij if centre_ij is not None else (ni / 2, nj / 2)
    ii = (np.arange(ni)[:, None] - ci) * spacing[0]
    jj = (np.arange(nj)[None, :] - cj) * spacing[1]
    for k in range(nk):
        dense = float((hu[:, :, k] > 700).mean())
        if dense < 1e-4:
            continue
        img = np.zeros((ni, nj), dtype=np.float32)
        for _ in range(3):
            theta = rng.uniform(0, np.pi)
            dist = ii * np.sin(theta) - jj * np.cos(theta)
            along = np.abs(ii * np.cos(theta) + jj * np.sin(theta))
            img += rng.choice([-1.0, 1.0]) * rng.uniform(20, 60) * np.exp(-(dist**2) / 2.0) * np.exp(-along / 250.0)
        hu[:, :, k] += img
