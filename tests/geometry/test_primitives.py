"""Distances and intersections against brute force on seeded random data."""

import numpy as np
import pytest

from kambin.errors import InvalidInputError
from kambin.geometry import (
    closest_points_segment_segment,
    cylinder_clearance_mm,
    first_mask_hit_along_segment,
    point_to_polyline_distance,
    point_to_segment_distance,
    points_in_cylinder,
    ray_mesh_intersections,
    segment_to_polyline_distance,
    segment_to_segment_distance,
    voxels_along_segment,
)


def dense(a, b, n=4001):
    return a + np.linspace(0, 1, n)[:, None] * (b - a)


def test_bad_shapes_and_radius():
    with pytest.raises(InvalidInputError, match=r"\(N, 3\)"):
        point_to_segment_distance(np.zeros((4, 2)), np.zeros(3), np.ones(3))
    with pytest.raises(InvalidInputError, match="radius must be positive"):
        cylinder_clearance_mm(np.zeros((1, 3)), np.zeros(3), np.ones(3), 0.0)
    with pytest.raises(InvalidInputError, match="coincide"):
        cylinder_clearance_mm(np.zeros((1, 3)), np.ones(3), np.ones(3), 1.0)


@pytest.mark.parametrize("seed", range(20))
def test_point_and_segment_distances_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.uniform(-50, 50, (4, 3))
    if seed % 5 == 0:  # parallel segments
        d = c + (b - a) * 0.7
    if seed % 7 == 0:  # degenerate segment
        d = c.copy()
    points = rng.uniform(-60, 60, (50, 3))
    brute = np.linalg.norm(points[:, None, :] - dense(a, b)[None], axis=2).min(axis=1)
    np.testing.assert_allclose(point_to_segment_distance(points, a, b), brute, atol=0.05)
    brute_ss = np.linalg.norm(dense(a, b, 1501)[:, None] - dense(c, d, 1501)[None], axis=2).min()
    on_p, on_q, distance = closest_points_segment_segment(a, b, c, d)
    assert distance <= brute_ss + 1e-9
    assert distance == pytest.approx(brute_ss, abs=0.1)
    assert distance == pytest.approx(np.linalg.norm(on_p - on_q))
    polyline = rng.uniform(-50, 50, (6, 3))
    pieces = list(zip(polyline[:-1], polyline[1:], strict=True))
    brute_poly = np.min([point_to_segment_distance(points, p, q) for p, q in pieces], axis=0)
    np.testing.assert_allclose(point_to_polyline_distance(points, polyline), brute_poly, atol=1e-9)
    brute_seg_poly = min(segment_to_segment_distance(a, b, p, q) for p, q in pieces)
    assert segment_to_polyline_distance(a, b, polyline) == pytest.approx(brute_seg_poly)


@pytest.mark.parametrize("seed", range(10))
def test_cylinder_clearance_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = rng.uniform(-30, 30, (2, 3))
    radius = rng.uniform(1, 6)
    axis = (b - a) / np.linalg.norm(b - a)
    helper = np.cross(axis, [1.0, 0, 0] if abs(axis[0]) < 0.9 else [0, 1.0, 0])
    u = helper / np.linalg.norm(helper)
    v = np.cross(axis, u)
    # Sample the cylinder's surface densely: side wall and both caps.
    t = np.linspace(0, 1, 300)
    angle = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    ring = np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * v
    side = (a + t[:, None, None] * (b - a) + radius * ring[None]).reshape(-1, 3)
    rr = np.linspace(0, radius, 40)
    caps = np.concatenate([(end + rr[:, None, None] * ring[None]).reshape(-1, 3) for end in (a, b)])
    surface = np.concatenate([side, caps])
    points = rng.uniform(-40, 40, (200, 3))
    clearance = cylinder_clearance_mm(points, a, b, radius)
    brute = np.array([np.linalg.norm(surface - p, axis=1).min() for p in points])
    inside = points_in_cylinder(points, a, b, radius)
    np.testing.assert_allclose(np.abs(clearance), brute, atol=0.25)
    along = (points - a) @ axis
    radial = np.linalg.norm((points - a) - along[:, None] * axis, axis=1)
    truth_inside = (along >= 0) & (along <= np.linalg.norm(b - a)) & (radial <= radius)
    np.testing.assert_array_equal(inside, truth_inside)


def test_ray_hits_a_cube_twice():
    # Unit cube from 0 to 10 mm as 12 triangles.
    corners = np.array([[x, y, z] for x in (0, 10) for y in (0, 10) for z in (0, 10)], dtype=float)
    faces = np.array([
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
    ])
    hits = ray_mesh_intersections(np.array([-5.0, 3.0, 4.0]), np.array([2.0, 0, 0]), corners, faces)
    np.testing.assert_allclose(hits, [5.0, 15.0])
    assert len(ray_mesh_intersections(np.array([-5.0, 30.0, 4.0]), np.array([1.0, 0, 0]), corners, faces)) == 0
    assert len(ray_mesh_intersections(np.array([20.0, 3.0, 4.0]), np.array([1.0, 0, 0]), corners, faces)) == 0


@pytest.mark.parametrize("seed", range(10))
def test_voxel_traversal_matches_dense_sampling(seed):
    rng = np.random.default_rng(200 + seed)
    shape = (12, 9, 7)
    start, end = rng.uniform(0, 6, 3), rng.uniform(-1, 12, 3)  # start inside the grid
    ijk, t = voxels_along_segment(start, end, shape)
    assert np.all(np.diff(t) >= 0)
    samples = np.floor(dense(start, end, 20001) + 0.5).astype(int)
    inside = np.all((samples >= 0) & (samples < np.array(shape)), axis=1)
    expected = {tuple(v) for v in samples[inside]}
    found = {tuple(v) for v in ijk}
    # Dense sampling can miss a voxel only clipped at a corner; it must never see one we miss.
    assert expected <= found
    assert len(found - expected) <= 2
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(ijk[len(ijk) // 2])] = True
    hit = first_mask_hit_along_segment(mask, start, end)
    assert hit == pytest.approx(t[len(ijk) // 2])
    assert first_mask_hit_along_segment(np.zeros(shape, dtype=bool), start, end) is None


def _sphere(centre, radius):
    return lambda p: np.linalg.norm(p - centre, axis=1) - radius


@pytest.mark.parametrize("step_mm", [0.5, 1.0, 1.5])
def test_displace_around_moves_the_stretch_as_one_piece(step_mm):
    """A straight root through the edge of a ball (a fragment lateral to it) is bowed away from the
    ball's centre, clears it, keeps its ends, and lands in the same place whatever its sampling."""
    from kambin.geometry.primitives import displace_around, push_out

    z = np.arange(-30.0, 30.0 + 1e-9, step_mm)
    root = np.column_stack([np.zeros_like(z), np.zeros_like(z), z])
    radii = np.full(len(z), 1.5)
    ball_centre, ball_radius, clearance = np.array([5.0, 0.0, 0.0]), 5.0, 0.4
    moved = displace_around(root, radii, _sphere(ball_centre, ball_radius), clearance, ball_centre, taper_mm=10.0)
    assert np.all(_sphere(ball_centre, ball_radius)(moved) - radii >= clearance - 1e-3)
    shift = moved - root
    assert np.allclose(shift[:, 1:], 0.0, atol=1e-9)  # straight away from the centre: -x only
    at_ball = int(np.argmin(np.abs(z)))
    # the least move that clears: the root's surface 0.4 mm beyond the ball's, x = -(1.5 + 0.4)
    assert shift[at_ball, 0] == pytest.approx(-1.9, abs=0.02)
    far = np.abs(z) > 5.0 + 10.0  # beyond the stretch inside the ball and its taper
    assert np.allclose(shift[far], 0.0)
    # one piece: no point moves opposite to the others, and the bow has no kink (the cosine taper's
    # steepest slope is the move x pi / (2 x taper), 0.3 mm per mm here)
    assert np.all(shift[:, 0] <= 1e-9)
    assert np.max(np.abs(np.diff(shift[:, 0]))) <= 0.31 * step_mm
    # point by point (push_out) the same root is only pushed where it overlaps, a kink at each end
    pushed = push_out(root, radii, _sphere(ball_centre, ball_radius), clearance)
    assert np.max(np.abs(np.diff(pushed[:, 0]))) > np.max(np.abs(np.diff(shift[:, 0])))


def test_displace_around_leaves_a_clear_root_alone():
    from kambin.geometry.primitives import displace_around

    z = np.arange(-20.0, 20.0, 1.0)
    root = np.column_stack([np.zeros_like(z), np.zeros_like(z), z])
    centre = np.array([20.0, 0.0, 0.0])
    assert np.array_equal(displace_around(root, np.full(len(z), 1.5), _sphere(centre, 5.0), 0.4, centre), root)


def test_displace_around_leaves_a_tube_no_move_can_clear_to_push_out():
    """A tube inside an obstacle wherever it goes (a mass wrapped round it): no move of up to 64 mm
    clears it, so it is left where it was for push_out, not sent 64 mm off."""
    from kambin.geometry.primitives import displace_around

    z = np.arange(-20.0, 20.0, 1.0)
    root = np.column_stack([np.zeros_like(z), np.zeros_like(z), z])

    def inside_everywhere(p):
        return np.full(len(p), -1.0)

    moved = displace_around(root, np.full(len(z), 1.5), inside_everywhere, 0.4, np.array([5.0, 0.0, 0.0]))
    assert np.array_equal(moved, root)
