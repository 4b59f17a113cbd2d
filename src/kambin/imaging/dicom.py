"""DICOM CT series: find, group, sort, check and read; and write a volume as a CT series.

Reading: headers with pydicom, pixels with SimpleITK/GDCM (every transfer syntax). Slices are
sorted by their position along the slice normal (the cross product of the two
ImageOrientationPatient vectors), as in the DICOM standard's C.7.6.2.1.1 and dcm2niix.
Writing: one CT Image Storage file per slice, int16 with RescaleIntercept, written with pydicom.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from kambin.atomic import check_new_directory, staged_directory
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging.volume import Volume

SPACING_TOLERANCE = 0.01  # relative; above it slice spacing counts as uneven
UNEVEN_REFUSAL = 0.10  # relative; above it (and not explained by missing slices) we refuse
TILT_TOLERANCE_DEG = 0.5


# Only these are parsed from each header (pydicom's specific_tags), which halves the header pass.
_HEADER_TAGS = [
    "SeriesInstanceUID", "ImagePositionPatient", "ImageOrientationPatient", "Modality",
    "SeriesDescription", "AcquisitionNumber",
]


@dataclass(frozen=True)
class _Slice:
    path: Path
    series_uid: str
    position: np.ndarray
    orientation: np.ndarray
    modality: str
    description: str
    acquisition_number: int | None


def read_dicom_series(path: Path, series_uid: str | None = None) -> Volume:
    """Read one series from a directory (searched recursively) or from one file of the series."""
    directory = path if path.is_dir() else path.parent
    files = sorted(p for p in directory.rglob("*") if p.is_file()) if path.is_dir() else sorted(
        p for p in directory.iterdir() if p.is_file()
    )
    if not files:
        raise UnreadableFileError(f"{path}: the directory is empty; point to a DICOM series or a volume file")
    slices, unreadable = _read_headers(files)
    if not slices:
        raise UnreadableFileError(
            f"{path}: no DICOM image files found ({len(files)} files, none readable as DICOM images)"
        )
    series: dict[str, list[_Slice]] = {}
    for item in slices:
        series.setdefault(item.series_uid, []).append(item)
    warnings: list[str] = []
    if unreadable:
        warnings.append(f"{len(unreadable)} files in {directory} are not DICOM images and were skipped")
    if not path.is_dir():
        with open(path, "rb"):
            pass
        own = next((s.series_uid for s in slices if s.path == path), None)
        if own is None:
            raise UnreadableFileError(f"{path}: not a readable DICOM image file")
        series_uid = series_uid or own
    if series_uid is not None:
        if series_uid not in series:
            raise InvalidInputError(
                f"{path}: no series with UID {series_uid}; found: {', '.join(sorted(series))}"
            )
        chosen_uid = series_uid
    else:
        chosen_uid = max(series, key=lambda uid: (len(series[uid]), uid))
        if len(series) > 1:
            others = ", ".join(f"{uid} ({len(s)} slices)" for uid, s in series.items() if uid != chosen_uid)
            warnings.append(
                f"{len(series)} series found; took the largest, {chosen_uid} ({len(series[chosen_uid])} slices, "
                f"{series[chosen_uid][0].description or 'no description'}); others: {others}; "
                "pick one with --series UID"
            )
    chosen = series[chosen_uid]
    ordered, geometry_warnings, spacing = _sort_and_check(chosen, path)
    warnings += geometry_warnings
    modality = chosen[0].modality or "unknown"
    if modality != "CT":
        warnings.append(f"modality is {modality}, not CT; Hounsfield-unit thresholds do not apply")
    voxels, voxel_to_lps = _read_pixels(ordered, path)
    # ITK derives the slice spacing from the first two slices; use the measured mean instead.
    direction = voxel_to_lps[:3, :3] / np.linalg.norm(voxel_to_lps[:3, :3], axis=0)
    voxel_to_lps[:3, 2] = direction[:, 2] * spacing
    nan_count = int(np.count_nonzero(~np.isfinite(voxels))) if voxels.dtype.kind == "f" else 0
    if nan_count:
        warnings.append(f"{nan_count} NaN or infinite voxels; they are ignored in statistics")
    return Volume(
        voxels=voxels,
        voxel_to_lps=voxel_to_lps,
        modality=modality,
        source=str(path),
        metadata={"series_uid": chosen_uid, "series_description": chosen[0].description, "slices": len(ordered)},
        warnings=tuple(warnings),
    )


def _read_headers(files: list[Path]) -> tuple[list[_Slice], list[Path]]:
    slices, unreadable = [], []
    for file in files:
        try:
            header = pydicom.dcmread(file, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
            position = np.array([float(v) for v in header.ImagePositionPatient])
            orientation = np.array([float(v) for v in header.ImageOrientationPatient])
            series_uid = str(header.SeriesInstanceUID)
        except Exception:  # noqa: BLE001 - any unreadable or non-image file is skipped and counted
            unreadable.append(file)
            continue
        acquisition = header.get("AcquisitionNumber")
        slices.append(
            _Slice(
                path=file,
                series_uid=series_uid,
                position=position,
                orientation=orientation,
                modality=str(header.get("Modality", "")),
                description=str(header.get("SeriesDescription", "")),
                acquisition_number=int(acquisition) if acquisition not in (None, "") else None,
            )
        )
    return slices, unreadable


def _sort_and_check(slices: list[_Slice], path: Path) -> tuple[list[_Slice], list[str], float]:
    """Sort along the slice normal and refuse or warn on geometry that would distort the volume."""
    if len(slices) == 1:
        raise InvalidInputError(f"{path}: the series has a single slice (a 2D image); kambin needs a 3D volume")
    orientation = slices[0].orientation
    if any(not np.allclose(s.orientation, orientation, atol=1e-4) for s in slices):
        raise InvalidInputError(f"{path}: slices of the series have different orientations; it is not one volume")
    normal = np.cross(orientation[:3], orientation[3:])
    ordered = sorted(slices, key=lambda s: float(s.position @ normal))
    along = np.array([float(s.position @ normal) for s in ordered])
    gaps = np.diff(along)
    if np.any(gaps < 1e-3):
        raise InvalidInputError(
            f"{path}: {int(np.sum(gaps < 1e-3)) + 1} slices share a position (several acquisitions in one "
            "series?); export each acquisition as its own series"
        )
    warnings: list[str] = []
    step = np.median(gaps)
    ratios = gaps / step
    missing = np.flatnonzero((ratios > 1.5) & (np.abs(ratios - np.round(ratios)) < 0.1))
    if len(missing):
        count = int(sum(round(r) - 1 for r in ratios[missing]))
        where = ", ".join(f"{along[i]:.1f} to {along[i + 1]:.1f} mm" for i in missing[:3])
        raise InvalidInputError(
            f"{path}: {count} slice(s) missing from the series (gap between {where}); "
            "re-export the complete series"
        )
    deviation = float(np.max(np.abs(ratios - 1.0)))
    if deviation > UNEVEN_REFUSAL:
        raise InvalidInputError(
            f"{path}: uneven slice spacing ({gaps.min():.3f} to {gaps.max():.3f} mm); "
            "resample it to a regular grid first"
        )
    if deviation > SPACING_TOLERANCE:
        warnings.append(
            f"uneven slice spacing ({gaps.min():.3f} to {gaps.max():.3f} mm); using the mean, "
            f"{gaps.mean():.3f} mm"
        )
    stack_direction = ordered[-1].position - ordered[0].position
    stack_direction /= np.linalg.norm(stack_direction)
    tilt_deg = float(np.degrees(np.arccos(np.clip(abs(stack_direction @ normal), 0.0, 1.0))))
    if tilt_deg > TILT_TOLERANCE_DEG:
        raise InvalidInputError(
            f"{path}: gantry tilt of {tilt_deg:.1f} degrees (slices are sheared); resample the series "
            "to an untilted grid first (for example with dcm2niix)"
        )
    return ordered, warnings, float(gaps.mean())


def _read_pixels(ordered: list[_Slice], path: Path) -> tuple[np.ndarray, np.ndarray]:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(s.path) for s in ordered])
    try:
        image = reader.Execute()
    except RuntimeError:
        raise UnreadableFileError(
            f"{path}: the pixel data of the series cannot be read (a truncated or damaged file?)"
        ) from None
    array = np.transpose(sitk.GetArrayFromImage(image), (2, 1, 0))
    integral = array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array))
    if integral and array.min() >= -32768 and array.max() <= 32767:
        array = array.astype(np.int16)
    voxel_to_lps = np.eye(4)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    voxel_to_lps[:3, :3] = direction * np.array(image.GetSpacing())[None, :]
    voxel_to_lps[:3, 3] = image.GetOrigin()
    # The transpose is a view (Fortran order in i, j, k): no copy of a large CT.
    return array, voxel_to_lps


def write_dicom_series(
    volume: Volume,
    directory: str | os.PathLike,
    patient_name: str = "KAMBIN^SYNTHETIC",
    patient_id: str = "KAMBIN-0",
    series_description: str = "kambin CT (research and training use only)",
) -> Path:
    """Write a CT volume as a DICOM series, one file per k-slice, into an empty or new directory.

    The files go to a temporary sibling directory that is renamed at the end, so a failure leaves
    nothing half-written. HU are stored as int16 with RescaleIntercept 0 and slope 1.
    """
    directory = check_new_directory(directory)
    voxels = np.asarray(volume.voxels)
    if not np.all(np.isfinite(voxels)):
        raise InvalidInputError("the volume has NaN or infinite voxels; DICOM cannot store them")
    hu = np.clip(np.round(voxels), -32768, 32767).astype(np.int16)
    direction = volume.direction_lps
    spacing = volume.spacing_mm
    if abs(direction[:, 0] @ direction[:, 1]) > 1e-6:
        raise InvalidInputError("the volume's i and j axes are not orthogonal; DICOM cannot store it")
    normal = np.cross(direction[:, 0], direction[:, 1])
    if normal @ direction[:, 2] < 1.0 - 1e-6:
        raise InvalidInputError("the volume's k axis is not the slice normal (sheared or left-handed grid)")
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    now = datetime.datetime.now(datetime.UTC)
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    with staged_directory(directory) as staging:
        for k in range(hu.shape[2]):
            position = volume.ijk_to_lps(np.array([0.0, 0.0, float(k)]))
            dataset = _ct_slice(hu[:, :, k], position, direction, spacing)
            dataset.PatientName, dataset.PatientID = patient_name, patient_id
            dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
            dataset.FrameOfReferenceUID = frame_uid
            dataset.SeriesDescription = series_description
            dataset.StudyDate = dataset.SeriesDate = dataset.ContentDate = date
            dataset.StudyTime = dataset.SeriesTime = dataset.ContentTime = time
            dataset.InstanceNumber = k + 1
            dataset.save_as(staging / f"CT{k + 1:05d}.dcm", enforce_file_format=True)
    return directory


def _ct_slice(pixels_ij: np.ndarray, position: np.ndarray, direction: np.ndarray, spacing: np.ndarray) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    dataset.SOPClassUID = CTImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "CT"
    dataset.Manufacturer = "kambin"
    dataset.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    dataset.ImagePositionPatient = [f"{v:.6f}" for v in position]
    dataset.ImageOrientationPatient = [f"{v:.8f}" for v in (*direction[:, 0], *direction[:, 1])]
    # DICOM PixelSpacing is (row spacing, column spacing) = (spacing along j, spacing along i).
    dataset.PixelSpacing = [f"{spacing[1]:.6f}", f"{spacing[0]:.6f}"]
    dataset.SliceThickness = f"{spacing[2]:.6f}"
    # Rows run along j and columns along i, so the stored frame is the [j, i] array.
    frame = np.ascontiguousarray(pixels_ij.T)
    dataset.Rows, dataset.Columns = frame.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = 16
    dataset.BitsStored = 16
    dataset.HighBit = 15
    dataset.PixelRepresentation = 1
    dataset.RescaleIntercept = "0"
    dataset.RescaleSlope = "1"
    dataset.RescaleType = "HU"
    dataset.WindowCenter, dataset.WindowWidth = "400", "1800"
    dataset.PixelData = frame.tobytes()
    return dataset
