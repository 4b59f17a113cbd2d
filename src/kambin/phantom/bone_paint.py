"""How the phantom's bones and discs read on CT: a cortex of its thickness over cancellous bone (the
partial volume of each voxel across the cortex, `ct.bone_hu`), the basivertebral vein in each body,
and discs brighter in the annulus than in the nucleus."""

from __future__ import annotations

import numpy as np

from kambin.phantom import ct as ctmod
from kambin.phantom.pelvis import Ilium


def disc_hu(disc):
    def hu(x, y, z, d):
        return (ctmod.HU_TABLE["disc_annulus"] - 20.0 * disc.nucleus_weight(x, y, z)).astype(np.float32)

    return hu


def bone_hu_fn(voxel_mm: float, thickness: float, cancellous: float):
    def hu(x, y, z, d):
        return ctmod.bone_hu(d, thickness, voxel_mm, cancellous)

    return hu


class VertebraShape:
    def __init__(self, vert, voxel_mm, morph, carve_tubes, part: str = "all"):
        self.vert, self.voxel, self.morph, self.carve, self.part = vert, voxel_mm, morph, carve_tubes, part

    def bbox_lps(self):
        return self.vert.bbox_lps()

    def _sdf(self, x, y, z):
        d, body = self.vert.sdf(x, y, z)
        if self.part != "all":
            _, _, w = self.vert.frame.to_local(x, y, z)
            cut = w + self.vert.h / 2 + 3.0
            d = np.maximum(d, -cut) if self.part == "S1" else np.maximum(d, cut)
        return d, body

    def evaluate(self, xs, ys, zs):
        d, _ = self._sdf(xs[:, None, None], ys[None, :, None], zs[None, None, :])
        return np.broadcast_to(d, (len(xs), len(ys), len(zs)))

    def hu(self, x, y, z, d):
        _, body = self.vert.sdf(x, y, z)
        in_body = body <= d + 0.4
        thickness = np.where(in_body, 0.7, 2.2) * self.morph.extras.get("cortex_factor", 1.0)
        canc = np.where(in_body, self.morph.cancellous_hu, self.morph.cancellous_hu + 150.0)
        if self.vert.is_sacrum:
            canc = canc - 30.0
        out = ctmod.bone_hu(d, thickness, self.voxel, 0.0) + canc * _core_fraction(d, thickness, self.voxel)
        u, v, w = self.vert.frame.to_local(x, y, z)
        vein = (
            (np.abs(u) < 2.2)
            & (v > 0.25 * self.vert.b)
            & (v < self.vert.v_posterior_wall)
            & (np.abs(w) < 1.8)
            & in_body
        )
        out = np.where(vein, 45.0, out)
        return out.astype(np.float32)


def _core_fraction(d, thickness, voxel):
    lo, hi = d - voxel / 2, d + voxel / 2
    outside = np.clip(hi, 0, None) - np.clip(lo, 0, None)
    cortex = np.clip(np.minimum(hi, 0) - np.maximum(lo, -thickness), 0, None)
    return (voxel - outside - cortex) / voxel


class IliumShape:
    def __init__(self, ilium: Ilium, voxel):
        self.ilium, self.voxel = ilium, voxel
        self._shape = ilium.shape("hip")

    def bbox_lps(self):
        return self._shape.bbox_lps()

    def evaluate(self, xs, ys, zs):
        return self._shape.evaluate(xs, ys, zs)

    def hu(self, x, y, z, d):
        return ctmod.bone_hu(d, 1.4, self.voxel, 190.0)
