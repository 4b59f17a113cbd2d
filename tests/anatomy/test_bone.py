"""The cortical shell (`anatomy.bone.within_cortex`) on shapes whose answer is known, and the fast
morphology it and the segmentation use."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from kambin.anatomy.bone import connected_pieces, eroded, rays_to_brighter, within_cortex


def _brute_force_rays(mask, hu, margin, wall):
    """The definition, voxel by voxel: walk each of the six rays through the mask."""
    count = np.zeros(mask.shape, dtype=int)
    for index in zip(*np.nonzero(mask), strict=True):
        for axis in range(3):
            for step in (1, -1):
                position = list(index)
                while 0 <= position[axis] < mask.shape[axis] and mask[tuple(position)]:
                    if hu[tuple(position)] >= max(hu[index] + margin, wall):
                        count[index] += 1
                        break
                    position[axis] += step
    return count


def test_rays_agree_with_walking_them():
    rng = np.random.default_rng(0)
    hu = np.rint(rng.normal(200, 80, (9, 11, 13)))
    mask = rng.random(hu.shape) < 0.7
    assert np.array_equal(rays_to_brighter(mask, hu, 60), _brute_force_rays(mask, hu, 60, -4096))
    assert np.array_equal(rays_to_brighter(mask, hu, 60, wall_hu=300), _brute_force_rays(mask, hu, 60, 300))


@pytest.mark.parametrize("vessel_hu", [180.0, 320.0])
def test_a_plateau_against_a_walled_body_is_cut_off_and_the_body_kept(vessel_hu):
    """A 'body': a 30 mm box of 200 HU cancellous bone inside a 2 mm wall of 900 HU; against its front,
    touching it over its whole height, a 'vessel': a 20 mm cylinder at `vessel_hu` (venous, arterial).
    Both lie above the bone threshold; only the body is inside a cortex."""
    shape = (60, 70, 40)
    hu = np.zeros(shape)
    body = np.zeros(shape, dtype=bool)
    body[15:45, 30:60, 5:35] = True
    hu[body] = 900.0
    hu[17:43, 32:58, 7:33] = 200.0
    x, y = np.mgrid[: shape[0], : shape[1]]
    vessel = np.repeat(((x - 30) ** 2 + (y - 20) ** 2 <= 100)[:, :, None], shape[2], axis=2) & ~body
    hu[vessel] = vessel_hu
    noise = np.random.default_rng(1).normal(0, 10, shape)
    mask = hu + noise > 120
    kept = within_cortex(mask, hu + noise, spacing_mm=1.0)
    assert kept[body].mean() > 0.99
    assert kept[vessel].mean() < 0.05  # the one voxel of reach where it touches the wall


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("neighbours", [6, 26])
def test_fast_erosion_and_pieces_match_scipy(order, neighbours):
    """`eroded` and `connected_pieces` are scipy's binary erosion and labelling, only faster."""
    mask = np.asarray(np.random.default_rng(2).random((23, 19, 17)) < 0.55, order=order)
    assert np.array_equal(eroded(mask), ndi.binary_erosion(mask))
    assert np.array_equal(eroded(mask[3:20, ::2, 1:]), ndi.binary_erosion(mask[3:20, ::2, 1:]))
    pieces = connected_pieces(mask[:, 2:], neighbours)
    structure = ndi.generate_binary_structure(3, 3 if neighbours == 26 else 1)
    reference, count = ndi.label(mask[:, 2:], structure=structure)
    assert pieces.max() == count > 1
    # The same partition: each piece of one is exactly one piece of the other.
    inside = mask[:, 2:]
    pairs = np.unique(np.stack([pieces[inside], reference[inside]]), axis=1)
    assert pairs.shape[1] == count
