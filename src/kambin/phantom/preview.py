"""A preview picture of a synthetic patient: mid-sagittal slice, an axial slice through the
chosen level's disc, and a bone maximum-intensity projection (the "3D view"), with the truth
(roots, dural sac, Kambin's triangles) drawn over the slices. Matplotlib with the Agg backend."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

WINDOW = (-250.0, 1000.0)  # bone-and-soft-tissue window (centre 375, width 1250)


def _figure(ncols: int, width: float = 16.0, height: float = 6.5):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), facecolor="black")
    return plt, fig, np.atleast_1d(axes)


def sagittal_image(volume, x_lps_mm: float = 0.0) -> tuple[np.ndarray, list[float]]:
    """A sagittal slice (rows superior to inferior, columns anterior to posterior) and its
    matplotlib extent; the volume must be axis-aligned LPS."""
    i = int(round((x_lps_mm - volume.origin_lps_mm[0]) / volume.spacing_mm[0]))
    i = int(np.clip(i, 0, volume.shape_ijk[0] - 1))
    img = volume.voxels[i, :, ::-1].T
    lo, hi = volume.extent_lps_mm()
    return img, [lo[1], hi[1], lo[2], hi[2]]


def axial_image(volume, z_lps_mm: float) -> tuple[np.ndarray, list[float]]:
    """An axial slice in radiological view (patient's left on the image right, anterior up)."""
    k = int(round((z_lps_mm - volume.origin_lps_mm[2]) / volume.spacing_mm[2]))
    k = int(np.clip(k, 0, volume.shape_ijk[2] - 1))
    img = volume.voxels[:, :, k].T
    lo, hi = volume.extent_lps_mm()
    return img, [lo[0], hi[0], hi[1], lo[1]]


def write_preview(patient, path: str | os.PathLike, level: str | None = None, side: str | None = None) -> Path:
    """Write the preview PNG; `level` defaults to the pathology's level (L4-L5 if none)."""
    path = Path(path)
    level = level or patient.pathology.level
    plt, fig, axes = _figure(3)
    ct = patient.ct
    truth = patient.truth
    sag, ext = sagittal_image(ct, 0.0)
    axes[0].imshow(sag, cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1], extent=ext, origin="upper")
    sac = np.array(truth.dural_sac.centerline_lps_mm)
    axes[0].plot(sac[:, 1], sac[:, 2], color="deepskyblue", lw=0.8, alpha=0.6)
    axes[0].set_title("mid-sagittal", color="white")
    disc = truth.levels[level].disc
    z = disc.centre_lps_mm[2]
    ax_img, ext = axial_image(ct, z)
    axes[1].imshow(ax_img, cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1], extent=ext)
    for s in ("left", "right"):
        lv = getattr(truth.levels[level], s)
        for key, color in (("exiting_root_centerline_lps_mm", "gold"), ("traversing_root_centerline_lps_mm", "orange")):
            pts = np.array(getattr(lv, key))
            near = np.abs(pts[:, 2] - z) < 4.0
            axes[1].plot(pts[near, 0], pts[near, 1], ".", color=color, ms=2)
        tri = np.array(lv.kambin_triangle_lps_mm + [lv.kambin_triangle_lps_mm[0]])
        axes[1].plot(tri[:, 0], tri[:, 1], color="lime", lw=1)
    axes[1].set_title(f"axial at the {level} disc (left on the right)", color="white")
    bone = np.where(patient.labels.voxels > 0, np.clip(ct.voxels.astype(np.float32) - 150.0, 0, None), 0.0)
    projection = bone.sum(axis=1)[:, ::-1].T * float(ct.spacing_mm[1])
    lo, hi = ct.extent_lps_mm()
    axes[2].imshow(
        np.sqrt(projection),
        cmap="bone",
        extent=[lo[0], hi[0], lo[2], hi[2]],
        vmin=0,
        vmax=float(np.sqrt(np.percentile(projection, 99.7))),
    )
    axes[2].set_title("bone projection, antero-posterior (3D view)", color="white")
    for ax in axes:
        ax.set_facecolor("black")
        ax.tick_params(colors="gray", labelsize=7)
    p = truth.pathology
    fig.suptitle(
        f"kambin synthetic patient, seed {truth.seed}, {p.kind}"
        + (f" at {p.level} {p.side}" if p.kind != "none" else "")
        + " - research and training use only",
        color="white",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90, facecolor="black")
    plt.close(fig)
    return path


def _spine_x(volume) -> float:
    """x (LPS mm) of the mid-sagittal plane: the centre of dense bone near the volume's middle."""
    dense = volume.voxels > 250
    counts = dense.sum(axis=(1, 2)).astype(float)
    n = len(counts)
    window = np.zeros(n)
    window[n // 4 : 3 * n // 4] = 1
    counts *= window
    i = int(np.round((counts * np.arange(n)).sum() / max(counts.sum(), 1)))
    return float(volume.origin_lps_mm[0] + i * volume.spacing_mm[0])


def write_comparison(
    patient, real, real_axial_z_mm: float, path: str | os.PathLike, real_name: str = "real CT", vertebra: str = "L4"
) -> Path:
    """Phantom (top row) beside a real lumbar CT (bottom row), same windows and mm scale:
    mid-sagittal, axial through the pedicles of `vertebra` in a bone window, and the same axial
    slice in a soft-tissue window. `real` must be an axis-aligned LPS volume (resample it first)."""
    path = Path(path)
    plt, fig, _ = _figure(1)
    plt.close(fig)
    fig, axes = plt.subplots(2, 3, figsize=(18, 12), facecolor="black")
    z_ph = patient.truth.vertebrae[vertebra].pedicles["left"].centre_lps_mm[2]
    for row, (vol, z, name) in enumerate(
        (
            (patient.ct, z_ph, f"phantom (seed {patient.seed}, {patient.ct.spacing_mm[0]:g} mm)"),
            (real, real_axial_z_mm, real_name),
        )
    ):
        x = 0.0 if row == 0 else _spine_x(vol)
        sag, ext = sagittal_image(vol, x)
        ax = axes[row, 0]
        ax.imshow(sag, cmap="gray", vmin=WINDOW[0], vmax=WINDOW[1], extent=ext)
        centre_y = 20.0 if row == 0 else float(np.mean(ext[:2]))
        ax.set_title(f"{name}: mid-sagittal, W1250 L375", color="white", fontsize=10)
        img, ext = axial_image(vol, z)
        i_sp = int(np.round((x - vol.origin_lps_mm[0]) / vol.spacing_mm[0]))
        for col, (lo, hi, label) in enumerate(((WINDOW[0], WINDOW[1], "W1250 L375"), (-160.0, 240.0, "W400 L40"))):
            ax = axes[row, col + 1]
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, extent=ext)
            ax.set_xlim(x - 190, x + 190)
            ax.set_title(f"{name}: axial, {label}", color="white", fontsize=10)
        del i_sp, centre_y
    for ax in axes.ravel():
        ax.set_facecolor("black")
        ax.tick_params(colors="gray", labelsize=7)
    fig.suptitle("kambin synthetic patient (top) beside a real lumbar CT (bottom); axes in LPS mm", color="white")
    fig.tight_layout()
    fig.savefig(path, dpi=70, facecolor="black")
    plt.close(fig)
    return path
