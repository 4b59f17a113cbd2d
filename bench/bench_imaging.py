"""Reading a 512x512x300 CT series: kambin's checked reader against plain SimpleITK.

kambin reads every header with pydicom first (grouping, sorting, missing-slice and tilt checks),
then the pixels with SimpleITK; the baseline is SimpleITK's ImageSeriesReader on the same files,
which does no checks. The difference is the price of the checks.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from kambin.imaging import Volume, read_volume, write_dicom_series


def run(report) -> None:
    rng = np.random.default_rng(0)
    voxels = rng.integers(-1000, 1500, (512, 512, 300), dtype=np.int16)
    volume = Volume.from_geometry(voxels, (0.7, 0.7, 1.0), (-179.0, -179.0, -150.0))
    with tempfile.TemporaryDirectory() as scratch:
        series = Path(scratch) / "series"
        start = time.perf_counter()
        write_dicom_series(volume, series)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(series)))
        reader.Execute()
        baseline_s = time.perf_counter() - start
        start = time.perf_counter()
        back = read_volume(series)
        read_s = time.perf_counter() - start
    assert np.array_equal(back.voxels, voxels)
    report(name="dicom_read_512x512x300", value=round(read_s, 3), unit="s",
           baseline="SimpleITK ImageSeriesReader, no checks", baseline_value=round(baseline_s, 3))
    report(name="dicom_write_512x512x300", value=round(write_s, 3), unit="s",
           baseline="read time of the same series", baseline_value=round(read_s, 3))
    report(name="imaging_peak_rss", value=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), unit="MiB",
           baseline="size of the int16 voxel array", baseline_value=round(voxels.nbytes / 2**20))
