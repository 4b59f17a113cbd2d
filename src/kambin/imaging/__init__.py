"""Volumes in patient LPS millimetres, and their readers and writers."""

from kambin.imaging.dicom import read_dicom_series, write_dicom_series
from kambin.imaging.io import read_volume, sitk_to_volume, volume_to_sitk, write_volume
from kambin.imaging.volume import Volume

__all__ = [
    "Volume",
    "read_dicom_series",
    "read_volume",
    "sitk_to_volume",
    "volume_to_sitk",
    "write_dicom_series",
    "write_volume",
]
