"""Read and write volumes: DICOM series, NIfTI, NRRD and MetaImage, always to and from LPS mm.

Pixel decoding and the NIfTI/NRRD/MHA formats are SimpleITK's (ITK's readers handle the RAS/LPS
conversion of NIfTI's qform/sform and every DICOM transfer syntax GDCM knows). The DICOM series
is grouped, sorted and checked here with pydicom headers first, because ITK silently builds a
distorted volume from a series with a missing slice or a tilted gantry.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from kambin.atomic import atomic_file
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging.dicom import read_dicom_series
from kambin.imaging.nifti_check import check_nifti_payload
from kambin.imaging.volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")
OTHER_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")
ITK_MODALITY = {"MET_MOD_CT": "CT", "MET_MOD_MR": "MR", "MET_MOD_PET": "PT", "MET_MOD_US": "US"}


def volume_suffix(path: Path) -> str:
    """The format suffix of a volume file (".nii.gz" counts as one), lower case."""
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return path.suffix.lower()


def read_volume(path: str | os.PathLike, series_uid: str | None = None) -> Volume:
    """Read a 3D volume from a DICOM directory or file, NIfTI, NRRD or MHA, in LPS mm.

    Raises UnreadableFileError for a missing, empty, unreadable or truncated input and
    InvalidInputError for a readable one kambin cannot use (2D, 4D, a broken series). Problems
    that do not stop reading are in `Volume.warnings`.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(f"{path}: no such file or directory")
    if path.is_dir():
        return read_dicom_series(path, series_uid)
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path}: the file is empty")
    suffix = volume_suffix(path)
    if suffix in NIFTI_SUFFIXES + OTHER_SUFFIXES:
        if series_uid is not None:
            raise InvalidInputError(f"{path}: --series applies to DICOM input only")
        return _read_itk_file(path, suffix)
    if _looks_like_dicom(path):
        return read_dicom_series(path, series_uid)
    raise UnreadableFileError(
        f"{path}: not a format kambin reads (expected a DICOM directory or file, "
        f"{', '.join(NIFTI_SUFFIXES + OTHER_SUFFIXES)})"
    )


def write_volume(volume: Volume, path: str | os.PathLike) -> Path:
    """Write a volume as NIfTI (.nii, .nii.gz), NRRD (.nrrd) or MetaImage (.mha).

    Written to a temporary name and renamed, so a failure never leaves a half-written file.
    NIfTI stores the geometry in float32 (its sform), so positions read back to within about
    1e-5 of their magnitude.
    """
    path = Path(path)
    suffix = volume_suffix(path)
    if suffix not in (".nii", ".nii.gz", ".nrrd", ".mha"):
        raise InvalidInputError(f"{path}: can write .nii, .nii.gz, .nrrd or .mha, not {suffix or 'no suffix'}")
    image = volume_to_sitk(volume)
    if suffix == ".mha" and volume.modality in ("CT", "MR", "PT", "US"):
        image.SetMetaData("Modality", f"MET_MOD_{'PET' if volume.modality == 'PT' else volume.modality}")
    with atomic_file(path, suffix) as temporary:
        sitk.WriteImage(image, str(temporary), useCompression=suffix in (".nii.gz", ".nrrd", ".mha"))
    return path


def volume_to_sitk(volume: Volume) -> sitk.Image:
    """The volume as a SimpleITK image (array transposed from [i, j, k] to ITK's [k, j, i])."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(volume.voxels, (2, 1, 0))))
    image.SetSpacing([float(s) for s in volume.spacing_mm])
    image.SetOrigin([float(o) for o in volume.origin_lps_mm])
    image.SetDirection([float(d) for d in volume.direction_lps.ravel()])
    return image


def sitk_to_volume(image: sitk.Image, **kwargs) -> Volume:
    """A SimpleITK image (ITK geometry is LPS) as a Volume indexed [i, j, k].

    The voxels are a transposed view of ITK's [k, j, i] buffer (Fortran order), not a copy.
    """
    array = np.transpose(sitk.GetArrayFromImage(image), (2, 1, 0))
    return Volume.from_geometry(
        array,
        spacing_mm=image.GetSpacing(),
        origin_lps_mm=image.GetOrigin(),
        direction_lps=np.array(image.GetDirection()).reshape(3, 3),
        **kwargs,
    )


def check_voxels(voxels: np.ndarray, path: Path) -> list[str]:
    """Warnings about voxel values: NaN or infinite voxels."""
    warnings = []
    if np.issubdtype(voxels.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(voxels)))
        if bad:
            warnings.append(f"{path.name}: {bad} NaN or infinite voxels; they are ignored in statistics")
    return warnings


def _looks_like_dicom(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _read_itk_file(path: Path, suffix: str) -> Volume:
    payload = check_nifti_payload(path) if suffix in NIFTI_SUFFIXES else None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
        dimension = reader.GetDimension()
        size = reader.GetSize()
    except RuntimeError:
        raise UnreadableFileError(f"{path}: cannot read the header; the file is damaged or not {suffix}") from None
    if dimension == 2 or (dimension == 3 and min(size) == 1):
        raise InvalidInputError(f"{path}: a 2D image ({'x'.join(map(str, size))}); kambin needs a 3D volume")
    if dimension != 3:
        raise InvalidInputError(
            f"{path}: a {dimension}D image ({'x'.join(map(str, size))}); kambin needs one 3D volume"
        )
    try:
        image = reader.Execute()
    except RuntimeError:
        raise UnreadableFileError(f"{path}: the voxel data are truncated or damaged") from None
    modality = "unknown"
    if image.HasMetaDataKey("Modality"):
        modality = ITK_MODALITY.get(image.GetMetaData("Modality"), "unknown")
    try:
        volume = sitk_to_volume(image, modality=modality, source=str(path))
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None
    warnings = check_voxels(volume.voxels, path)
    if payload is not None and payload.nonfinite_voxels:
        # ITK's NIfTI reader turns NaN into 0; report what the file holds and keep them NaN.
        warnings.append(
            f"{path.name}: {payload.nonfinite_voxels} NaN or infinite voxels in the file "
            "(read as 0 by ITK); treat their region as unknown"
        )
    if warnings:
        volume = Volume(volume.voxels, volume.voxel_to_lps, volume.modality, volume.source, {}, tuple(warnings))
    return volume
