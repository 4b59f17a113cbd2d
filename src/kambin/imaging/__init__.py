"""Volumes in patient LPS millimetres, and their readers and writers.

Names are imported on first use (PEP 562): `Volume` alone needs only numpy, so code that works
on volumes in memory runs where pydicom or SimpleITK are not installed.
"""

from importlib import import_module

_WHERE = {
    "Volume": "volume",
    "read_dicom_series": "dicom",
    "write_dicom_series": "dicom",
    "read_volume": "io",
    "sitk_to_volume": "io",
    "volume_to_sitk": "io",
    "write_volume": "io",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'kambin.imaging' has no attribute {name!r}")
    return getattr(import_module(f"kambin.imaging.{_WHERE[name]}"), name)
