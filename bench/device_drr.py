"""DRR speed on a GPU machine: CuPy against the OpenCV CPU path, same CT, same views.

Not run by `bench/run.py` (it needs CuPy and a GPU). On a lent GPU machine, from the repo root:
    PYTHONPATH=src python3 bench/device_drr.py
It imports only what `kambin.render.drr` needs (numpy, scipy, OpenCV; CuPy for the GPU path).
Prints one JSON line per figure, each with its CPU baseline from the same run.
"""

from __future__ import annotations

import json
import os
import platform
import time

import numpy as np

from kambin.imaging.volume import Volume
from kambin.render.drr import CArmGeometry, DrrProjector


def ct_512x512x300() -> Volume:
    """A body-sized ellipse of soft tissue with a column of bone cylinders, 0.7 x 0.7 x 1.0 mm."""
    shape, spacing = (512, 512, 300), (0.7, 0.7, 1.0)
    x = (np.arange(shape[0]) - shape[0] / 2) * spacing[0]
    y = (np.arange(shape[1]) - shape[1] / 2) * spacing[1]
    body = (x[:, None] / 160.0) ** 2 + (y[None, :] / 110.0) ** 2 <= 1.0
    bone = (x[:, None] / 22.0) ** 2 + ((y[None, :] - 20.0) / 16.0) ** 2 <= 1.0
    slice_hu = np.where(bone, 700, np.where(body, 40, -1000)).astype(np.int16)
    voxels = np.repeat(slice_hu[:, :, None], shape[2], axis=2)
    voxels[:, :, ::30] = np.where(bone, 90, voxels[:, :, 0])[:, :, None]  # discs every 30 mm
    return Volume.from_geometry(voxels, spacing, (-179.0, -179.0, -150.0))


def timed(function, repeats: int = 5) -> tuple[float, object]:
    function()  # warm-up: kernel compilation, uploads
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main() -> None:
    import cupy
    from cupyx.scipy.ndimage import map_coordinates

    ct = ct_512x512x300()
    projector = DrrProjector(ct)
    center = tuple((np.add(*ct.extent_lps_mm())) / 2)
    device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    for view in ("ap", "lateral"):
        geometry = CArmGeometry(center, view=view, detector_pixels=(512, 512))
        cpu_s, cpu = timed(lambda g=geometry: projector.line_integrals(g))

        def gpu(g=geometry):
            out = projector.line_integrals_array(g, xp=cupy, map_coordinates=map_coordinates, batch_slices=64)
            cupy.cuda.Stream.null.synchronize()
            return out

        gpu_s, result = timed(gpu)
        agreement = float(np.corrcoef(cupy.asnumpy(result).ravel(), cpu.ravel())[0, 1])
        print(json.dumps({
            "name": f"drr_512x512_from_512x512x300_{view}_gpu_s", "value": round(gpu_s, 4), "unit": "s",
            "baseline": f"OpenCV path on this machine's CPU ({os.cpu_count()} cores)",
            "baseline_value": round(cpu_s, 4),
            "device": device, "correlation_with_baseline": round(agreement, 6), "target_s": 0.5,
            "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
        }), flush=True)


if __name__ == "__main__":
    main()
