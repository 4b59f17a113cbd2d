"""Volume readers and writers: bad input first, then real data (TotalSegmentator's example
DICOM series and its LAS NIfTI segmentation, Apache-2.0), then round trips."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging import Volume, read_volume, write_dicom_series, write_volume
from kambin.imaging.grid import reorient_like


@pytest.fixture(scope="module")
def dicom_dir(shared_data) -> Path:
    return shared_data / "ct" / "totalseg-example" / "dicom"


def copy_series(source: Path, target: Path, skip: int | None = None) -> list[Path]:
    target.mkdir()
    def height(path: Path) -> float:
        return float(pydicom.dcmread(path, stop_before_pixels=True).ImagePositionPatient[2])

    files = sorted(source.iterdir(), key=height)
    copied = []
    for n, file in enumerate(files):
        if n != skip:
            copied.append(Path(shutil.copy(file, target / file.name)))
    return copied


def small_volume(shape=(6, 5, 4), dtype=np.int16) -> Volume:
    rng = np.random.default_rng(0)
    voxels = rng.integers(-1000, 1500, shape).astype(dtype)
    direction = np.array([[0.0, 0, -1], [1, 0, 0], [0, -1, 0]])  # an oblique-free but permuted grid
    return Volume.from_geometry(voxels, (0.7, 0.8, 2.0), (-12.5, 40.25, 100.0), direction)


# --- bad input ------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(UnreadableFileError, match="no such file"):
        read_volume(tmp_path / "nothing.nii.gz")


def test_empty_directory(tmp_path):
    with pytest.raises(UnreadableFileError, match="directory is empty"):
        read_volume(tmp_path)


def test_directory_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnreadableFileError, match="no DICOM image files"):
        read_volume(tmp_path)


def test_text_file_named_nifti(tmp_path):
    path = tmp_path / "ct.nii.gz"
    path.write_text("this is not an image\n")
    with pytest.raises(UnreadableFileError, match="not a complete gzip file"):
        read_volume(path)
    plain = tmp_path / "ct.nii"
    plain.write_text("this is not an image either\n" * 20)
    with pytest.raises(UnreadableFileError, match="not a NIfTI file"):
        read_volume(plain)


def test_truncated_nifti(tmp_path, shared_data):
    data = (shared_data / "ct" / "totalseg-example" / "example_ct_sm.nii.gz").read_bytes()
    path = tmp_path / "truncated.nii.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError, match="truncated"):
        read_volume(path)
    # Uncompressed and cut short: the header is intact, the voxels are not.
    raw = tmp_path / "truncated.nii"
    raw.write_bytes(gzip.decompress(data)[:100_000])
    with pytest.raises(UnreadableFileError, match=r"voxel data are truncated \(100000 of 739672 bytes\)"):
        read_volume(raw)


def test_dicom_series_with_a_slice_removed(tmp_path, dicom_dir):
    copy_series(dicom_dir, tmp_path / "series", skip=7)
    with pytest.raises(InvalidInputError, match=r"1 slice\(s\) missing"):
        read_volume(tmp_path / "series")


def test_two_dimensional_inputs(tmp_path, dicom_dir):
    image = sitk.GetImageFromArray(np.zeros((20, 30), dtype=np.int16))
    sitk.WriteImage(image, str(tmp_path / "slice.nii.gz"))
    with pytest.raises(InvalidInputError, match="2D image"):
        read_volume(tmp_path / "slice.nii.gz")
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(next(dicom_dir.iterdir()), one)
    with pytest.raises(InvalidInputError, match="single slice"):
        read_volume(one)


def test_four_dimensional_input(tmp_path):
    image = sitk.GetImageFromArray(np.zeros((3, 4, 5, 6), dtype=np.int16), isVector=False)
    sitk.WriteImage(image, str(tmp_path / "t.nii.gz"))
    with pytest.raises(InvalidInputError, match="4D image"):
        read_volume(tmp_path / "t.nii.gz")


def test_unknown_format(tmp_path):
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 200)
    with pytest.raises(UnreadableFileError, match="not a format kambin reads"):
        read_volume(path)


def test_gantry_tilt_is_refused(tmp_path, dicom_dir):
    files = copy_series(dicom_dir, tmp_path / "tilted")
    for n, file in enumerate(sorted(files, key=lambda p: float(pydicom.dcmread(p).ImagePositionPatient[2]))):
        dataset = pydicom.dcmread(file)
        x, y, z = (float(v) for v in dataset.ImagePositionPatient)
        dataset.ImagePositionPatient = [x, y + n * 2.0 * np.tan(np.radians(15)), z]  # 15 degree shear
        dataset.save_as(file)
    with pytest.raises(InvalidInputError, match="gantry tilt of 15.0 degrees"):
        read_volume(tmp_path / "tilted")


def test_uneven_spacing_warns_then_refuses(tmp_path, dicom_dir):
    files = copy_series(dicom_dir, tmp_path / "uneven")
    ordered = sorted(files, key=lambda p: float(pydicom.dcmread(p).ImagePositionPatient[2]))
    dataset = pydicom.dcmread(ordered[5])
    x, y, z = (float(v) for v in dataset.ImagePositionPatient)
    dataset.ImagePositionPatient = [x, y, z + 0.05]  # 2.5 % off
    dataset.save_as(ordered[5])
    volume = read_volume(tmp_path / "uneven")
    assert any("uneven slice spacing" in w for w in volume.warnings)
    dataset.ImagePositionPatient = [x, y, z + 0.6]  # 30 % off
    dataset.save_as(ordered[5])
    with pytest.raises(InvalidInputError, match="uneven slice spacing"):
        read_volume(tmp_path / "uneven")


def test_non_ct_modality_and_series_choice(tmp_path, dicom_dir):
    files = copy_series(dicom_dir, tmp_path / "mixed")
    uid = pydicom.uid.generate_uid()
    for file in files[:3]:  # three slices become a second, MR series
        dataset = pydicom.dcmread(file)
        dataset.SeriesInstanceUID = uid
        dataset.Modality = "MR"
        dataset.save_as(file)
    volume = read_volume(tmp_path / "mixed")
    assert volume.shape_ijk == (512, 512, 17)
    assert any("2 series found" in w and "--series" in w for w in volume.warnings)
    mr = read_volume(tmp_path / "mixed", series_uid=uid)
    assert mr.modality == "MR" and mr.shape_ijk[2] == 3
    assert any("not CT" in w for w in mr.warnings)
    with pytest.raises(InvalidInputError, match="no series with UID"):
        read_volume(tmp_path / "mixed", series_uid="1.2.3")


def test_nan_voxels_are_reported(tmp_path):
    voxels = np.zeros((4, 4, 4), dtype=np.float32)
    voxels[1, 2, 3] = np.nan
    write_volume(Volume.from_geometry(voxels, (1, 1, 1)), tmp_path / "nan.nii.gz")
    volume = read_volume(tmp_path / "nan.nii.gz")
    assert volume.warnings and "1 NaN" in volume.warnings[0]


# --- real data ------------------------------------------------------------------------------


def test_real_dicom_series_geometry(dicom_dir):
    volume = read_volume(dicom_dir)
    assert volume.shape_ijk == (512, 512, 20)
    np.testing.assert_allclose(volume.spacing_mm, [0.977, 0.977, 2.0], atol=5e-4)
    np.testing.assert_allclose(volume.origin_lps_mm, [-249.51, -437.51, -804.5], atol=5e-3)
    assert volume.modality == "CT" and volume.warnings == ()
    assert -1100 <= volume.voxels.min() <= -900 and volume.voxels.max() > 1000
    # Reading one file of the series reads the whole series.
    single = read_volume(next(dicom_dir.iterdir()))
    np.testing.assert_array_equal(single.voxels, volume.voxels)


def test_dicom_and_las_nifti_map_every_voxel_to_the_same_point(dicom_dir, shared_data):
    ct = read_volume(dicom_dir)
    segmentation = read_volume(shared_data / "ct" / "totalseg-example" / "dicom_seg_reference.nii.gz")
    assert not np.allclose(segmentation.voxel_to_lps, ct.voxel_to_lps)  # LAS: j runs the other way
    i, j, k = np.meshgrid(*(np.arange(n) for n in ct.shape_ijk), indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float)
    lps = segmentation.ijk_to_lps(ijk)
    in_ct = ct.lps_to_ijk(lps)
    # Every segmentation voxel centre is a CT voxel centre, and the map is one to one.
    np.testing.assert_allclose(in_ct, np.round(in_ct), atol=1e-4)
    assert len({tuple(v) for v in np.round(in_ct).astype(int)[::97]}) == len(ijk[::97])
    aligned = reorient_like(segmentation, ct)
    np.testing.assert_allclose(aligned.voxel_to_lps, ct.voxel_to_lps, atol=1e-6)
    # The aligned labels sit on bone and soft tissue, not on air: a check that content moved too.
    labelled = aligned.voxels > 0
    assert labelled.sum() > 1000
    assert np.median(ct.voxels[labelled]) > -200
    assert np.median(ct.voxels[~labelled]) < np.median(ct.voxels[labelled])


def test_reorient_refuses_a_different_grid(dicom_dir, shared_data):
    ct = read_volume(dicom_dir)
    other = read_volume(shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz")
    with pytest.raises(InvalidInputError, match="different grid"):
        reorient_like(other, ct)


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_write_read_round_trip_keeps_geometry(tmp_path, suffix):
    volume = small_volume()
    path = write_volume(volume, tmp_path / f"v{suffix}")
    back = read_volume(path)
    np.testing.assert_array_equal(back.voxels, volume.voxels)
    # NIfTI stores its sform in float32: positions come back to float32 precision.
    np.testing.assert_allclose(back.voxel_to_lps, volume.voxel_to_lps, rtol=0, atol=1e-5)
    assert not list(tmp_path.glob(".*partial*"))


def test_real_nifti_round_trip_is_exact_in_float32(tmp_path, shared_data):
    original = read_volume(shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz")
    back = read_volume(write_volume(original, tmp_path / "copy.nii.gz"))
    np.testing.assert_array_equal(back.voxels, original.voxels)
    np.testing.assert_array_equal(back.voxel_to_lps.astype(np.float32), original.voxel_to_lps.astype(np.float32))


def test_dicom_writer_round_trip(tmp_path):
    volume = small_volume(shape=(7, 6, 5))
    volume = Volume.from_geometry(volume.voxels, (0.7, 0.8, 2.0), (-12.5, 40.25, 100.0))
    write_dicom_series(volume, tmp_path / "series")
    back = read_volume(tmp_path / "series")
    np.testing.assert_array_equal(back.voxels, volume.voxels)
    np.testing.assert_allclose(back.voxel_to_lps, volume.voxel_to_lps, atol=1e-5)
    assert back.modality == "CT" and back.warnings == ()
    with pytest.raises(InvalidInputError, match="not empty"):
        write_dicom_series(volume, tmp_path / "series")


def test_dicom_writer_oblique_grid(tmp_path):
    from scipy.spatial.transform import Rotation

    direction = Rotation.from_euler("xyz", [10, -20, 5], degrees=True).as_matrix()
    volume = Volume.from_geometry(small_volume((5, 4, 6)).voxels, (0.9, 0.9, 1.5), (3.0, -7.0, 20.0), direction)
    write_dicom_series(volume, tmp_path / "oblique")
    back = read_volume(tmp_path / "oblique")
    np.testing.assert_array_equal(back.voxels, volume.voxels)
    np.testing.assert_allclose(back.voxel_to_lps, volume.voxel_to_lps, atol=1e-5)


def test_writer_refuses_unknown_suffix_and_missing_directory(tmp_path):
    with pytest.raises(InvalidInputError, match="can write"):
        write_volume(small_volume(), tmp_path / "v.png")
    with pytest.raises(UnreadableFileError, match="does not exist"):
        write_volume(small_volume(), tmp_path / "no" / "v.nii.gz")


def test_truncated_dicom_slice(tmp_path, dicom_dir):
    files = copy_series(dicom_dir, tmp_path / "cut")
    data = files[4].read_bytes()
    files[4].write_bytes(data[: len(data) - 50_000])
    with pytest.raises(UnreadableFileError, match="pixel data of the series cannot be read"):
        read_volume(tmp_path / "cut")
