"""The level-check picture: bad input refused, bone in both views, names drawn where the vertebrae
are, radiological orientation, independent of voxel storage order, and the PNG written atomically."""

import cv2
import numpy as np
import pytest

from kambin.anatomy.labels import UNNAMED_VERTEBRA_FIRST_ID, label_id
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume
from kambin.phantom import make_patient
from kambin.report.level_check import level_check_image, write_level_check_png

LUMBAR = ("vertebrae_L1", "vertebrae_L2", "vertebrae_L3", "vertebrae_L4", "vertebrae_L5", "vertebrae_S1")


@pytest.fixture(scope="module")
def patient():
    return make_patient(0, spacing_mm=(2.0, 2.0, 2.0))


@pytest.fixture(scope="module")
def picture(patient):
    return level_check_image(patient.ct, patient.labels, "sacrum in view")


def _relabelled(labels: Volume, mapping: dict[int, int]) -> Volume:
    voxels = labels.voxels.copy()
    for old, new in mapping.items():
        voxels[labels.voxels == old] = new
    return labels.with_voxels(voxels)


def _restored(volume: Volume, perm: tuple[int, int, int], flip: int) -> Volume:
    """The same image stored with its axes permuted (new axis n = old axis perm[n]) and one flipped."""
    voxels = np.transpose(volume.voxels, perm)
    voxel_to_lps = volume.voxel_to_lps.copy()
    voxel_to_lps[:3, :3] = volume.voxel_to_lps[:3, :3][:, list(perm)]
    voxels = np.flip(voxels, axis=flip)
    voxel_to_lps[:3, 3] += voxel_to_lps[:3, flip] * (voxels.shape[flip] - 1)
    voxel_to_lps[:3, flip] *= -1
    return Volume(np.ascontiguousarray(voxels), voxel_to_lps, modality=volume.modality)


def test_a_label_map_without_vertebrae_is_refused(patient, tmp_path):
    vertebrae = [label_id(n) for n in (*LUMBAR, "sacrum")]
    no_spine = patient.labels.with_voxels(np.where(np.isin(patient.labels.voxels, vertebrae), 0, patient.labels.voxels))
    with pytest.raises(InvalidInputError, match="no vertebra label"):
        level_check_image(patient.ct, no_spine, "sacrum in view")
    # Nothing is written when the picture cannot be made.
    with pytest.raises(InvalidInputError):
        write_level_check_png(patient.ct, no_spine, "sacrum in view", tmp_path / "levels.png")
    assert list(tmp_path.iterdir()) == []


def test_a_label_map_off_the_cts_grid_is_refused(patient):
    shifted = patient.labels.voxel_to_lps.copy()
    shifted[:3, 3] += (0.0, 0.0, 5.0)
    with pytest.raises(InvalidInputError, match="not on the CT's grid"):
        level_check_image(patient.ct, Volume(patient.labels.voxels, shifted, modality="SEG"), "sacrum in view")
    cropped = Volume(patient.labels.voxels[:, :, 1:], patient.labels.voxel_to_lps, modality="SEG")
    with pytest.raises(InvalidInputError, match="not on the CT's grid"):
        level_check_image(patient.ct, cropped, "sacrum in view")


def test_an_rgb_picture_with_bone_in_both_views(picture):
    height, width, channels = picture.shape
    assert picture.dtype == np.uint8 and channels == 3
    assert 600 <= height <= 1600 and 900 <= width <= 2600
    # Bright bone (a grey above ~1000 HU in the bone window) in the sagittal (left) and coronal (right) half.
    grey = picture.astype(int)
    bright = (grey.min(axis=2) > 215) & (np.ptp(grey, axis=2) < 40)
    body = bright[height // 8 :]
    for half in (body[:, : width // 2], body[:, width // 2 :]):
        assert half.sum() > 2000


def test_names_are_drawn_on_their_vertebrae_in_both_views(patient, picture):
    """Swapping the names of L1 and L2 changes the picture only at the top of the lumbar spine, at the
    same heights in the sagittal and the coronal view; renaming nothing changes nothing."""
    again = level_check_image(patient.ct, patient.labels, "sacrum in view")
    assert np.array_equal(again, picture)
    l1, l2 = label_id("vertebrae_L1"), label_id("vertebrae_L2")
    swapped = level_check_image(patient.ct, _relabelled(patient.labels, {l1: l2, l2: l1}), "sacrum in view")
    assert swapped.shape == picture.shape
    height, width, _ = picture.shape
    changed = (swapped != picture).any(axis=2)
    changed[:60] = False  # the header's list of names
    rows_left = np.flatnonzero(changed[:, : width // 2].any(axis=1))
    rows_right = np.flatnonzero(changed[:, width // 2 :].any(axis=1))
    assert len(rows_left) > 30 and len(rows_right) > 30
    # Only the two top names changed: nothing in the lower half (L3 to the sacrum keep theirs) ...
    assert rows_left.max() < 0.5 * height and rows_right.max() < 0.5 * height
    # ... and each view's names sit at the heights of the same vertebrae.
    assert abs(np.median(rows_left) - np.median(rows_right)) < 25


def test_unnamed_vertebrae_are_not_given_level_names(patient, picture):
    unnamed = {label_id(name): UNNAMED_VERTEBRA_FIRST_ID + n for n, name in enumerate(LUMBAR)}
    image = level_check_image(patient.ct, _relabelled(patient.labels, unnamed), "not named: no cue agrees")
    # The picture says what "vertebra N" means: one more header line than with named levels.
    assert image.shape[0] > picture.shape[0] and image.shape[1] == picture.shape[1]


def test_radiological_orientation(patient, picture):
    """Bright markers put anterior-left-superior and posterior or right-inferior of the spine show up
    anterior on the left and superior at the top (sagittal), the patient's right on the left (coronal)."""
    labels, ct = patient.labels, patient.ct
    ijk = np.argwhere(np.isin(labels.voxels, [label_id(n) for n in LUMBAR]))
    lps = labels.ijk_to_lps(ijk.astype(float))
    midline_x = float(np.median(lps[:, 0]))

    def body(name):
        points = labels.ijk_to_lps(np.argwhere(labels.voxels == label_id(name)).astype(float))
        return points[:, 1].min(), points[:, 2].mean()

    (front_1, z_1), (front_2, z_2) = body("vertebrae_L1"), body("vertebrae_L2")
    (front_4, z_4), (front_5, z_5) = body("vertebrae_L4"), body("vertebrae_L5")
    high = (midline_x + 8.0, min(front_1, front_2) + 10.0, 0.5 * (z_1 + z_2))  # anterior, left, superior
    low_back = (midline_x - 8.0, min(front_4, front_5) + 55.0, 0.5 * (z_4 + z_5))  # posterior, right, inferior
    low_right = (midline_x - 8.0, min(front_4, front_5) + 10.0, 0.5 * (z_4 + z_5))  # anterior, right, inferior

    def where(point):
        voxels = ct.voxels.copy()
        centre = np.round(ct.lps_to_ijk(np.asarray(point))).astype(int)
        voxels[tuple(slice(c - 1, c + 2) for c in centre)] = 3000
        changed = (level_check_image(ct.with_voxels(voxels), labels, "sacrum in view") != picture).any(axis=2)
        halves = (changed[:, : changed.shape[1] // 2], changed[:, changed.shape[1] // 2 :])
        return [np.argwhere(h).mean(axis=0) if h.any() else None for h in halves]  # (row, col) or None

    (sagittal_high, coronal_high), (sagittal_back, coronal_back) = where(high), where(low_back)
    _, coronal_right = where(low_right)
    assert sagittal_high is not None and sagittal_back is not None
    assert sagittal_high[1] < sagittal_back[1] - 40  # anterior on the left
    assert sagittal_high[0] < sagittal_back[0] - 100  # superior at the top
    assert coronal_back is None  # 55 mm behind the bodies' front: outside the coronal slab
    assert coronal_high is not None and coronal_right is not None
    assert coronal_right[1] < coronal_high[1] - 20  # the patient's right on the image's left
    assert coronal_high[0] < coronal_right[0] - 100


def test_a_stray_fragment_outside_both_slabs_is_still_named(patient, picture):
    """A few voxels of a label far from the midline and behind the bodies (a stray fragment, as automatic
    segmentations leave) project into neither slab; the picture is still made, its name where it lies."""
    voxels = patient.labels.voxels.copy()
    ijk = np.argwhere(np.isin(voxels, [label_id(n) for n in LUMBAR]))
    i_far = int(ijk[:, 0].max()) + 10  # ~20 mm lateral to the spine's labels: outside the sagittal slab
    j_back, k_mid = int(ijk[:, 1].max()), int(np.median(ijk[:, 2]))  # the spinous processes' tips
    voxels[i_far : i_far + 2, j_back - 1 : j_back + 1, k_mid : k_mid + 2] = label_id("vertebrae_T12")
    image = level_check_image(patient.ct, patient.labels.with_voxels(voxels), "sacrum in view")
    assert image.dtype == np.uint8 and image.ndim == 3
    assert image.shape != picture.shape  # the fragment widens the region pictured (the crop holds every label)


@pytest.mark.parametrize(("perm", "flip"), [((2, 0, 1), 1), ((1, 0, 2), 2)])
def test_the_picture_does_not_depend_on_voxel_storage_order(patient, picture, perm, flip):
    ct, labels = _restored(patient.ct, perm, flip), _restored(patient.labels, perm, flip)
    assert ct.shape_ijk != patient.ct.shape_ijk or perm == (0, 1, 2)
    image = level_check_image(ct, labels, "sacrum in view")
    assert image.shape == picture.shape
    difference = np.abs(image.astype(int) - picture.astype(int)).max(axis=2)
    assert (difference > 40).mean() < 0.002 and difference.mean() < 1.0


def test_the_png_is_the_picture(patient, picture, tmp_path):
    path = write_level_check_png(patient.ct, patient.labels, "sacrum in view", tmp_path / "level_check.png")
    assert path == tmp_path / "level_check.png"
    assert [p.name for p in tmp_path.iterdir()] == ["level_check.png"]  # no temporary left beside it
    read = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert read is not None and np.array_equal(read[:, :, ::-1], picture)
