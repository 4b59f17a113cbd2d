"""kambin.geometry.kambin_triangle: the triangle's vertices from the exiting root's tube."""

import numpy as np

from kambin.geometry.kambin_triangle import medial_side_u, triangle_uw
from kambin.geometry.primitives import point_to_polyline_distance


def test_straight_root_at_45_degrees_gives_the_tube_edge():
    # centreline w = 15 - (u - 5), radius 2: the tube's edge lies 2 * sqrt(2) below and medial to it
    centre = np.column_stack([np.linspace(5.0, 30.0, 26), 15.0 - np.linspace(0.0, 25.0, 26)])
    v1, v2, v3 = triangle_uw(centre, np.full(26, 2.0), u_t=8.0, w_ep=0.0)
    assert np.allclose(v1, [8.0, 0.0])
    assert abs(v3[1] - (12.0 - 2.0 * np.sqrt(2.0))) < 0.02  # over u = 8 the centreline is at w = 12
    assert abs(v2[0] - (20.0 - 2.0 * np.sqrt(2.0))) < 0.02  # at w = 0 it is at u = 20
    base, height = v2[0] - v1[0], v3[1] - v1[1]
    diameter = base + height - np.hypot(base, height)
    # a right isosceles triangle with legs L: inscribed diameter L (2 - sqrt 2)
    assert abs(diameter - base * (2.0 - np.sqrt(2.0))) < 0.05


def test_apex_is_continuous_and_on_the_tube_where_the_root_runs_down_over_u_t():
    # a root squeezed in a stenotic foramen runs straight down over u_t, wavering by 0.1 mm (bench
    # patient 8): an edge offset along the centreline's normal flipped sides with each waver, and the
    # apex jumped by 6 mm for a 0.02 mm change of u_t; the tube's lowest point over u_t moves smoothly
    centre = np.array(
        [[6.0, 14.0], [10.0, 12.0], [10.1, 10.5], [9.95, 9.0], [10.05, 7.5], [9.9, 6.0], [14.0, 4.0], [20.0, 1.0]]
    )
    radii = np.full(len(centre), 2.6)
    u_ts = np.arange(7.6, 9.6, 0.02)
    apex = np.array([triangle_uw(centre, radii, u_t, 0.0)[2][1] for u_t in u_ts])
    assert np.max(np.abs(np.diff(apex))) < 0.1, np.max(np.abs(np.diff(apex)))
    # on the tube's surface, and nothing of the tube below it
    polyline = np.column_stack([centre, np.zeros(len(centre))])
    for u_t, w3 in zip(u_ts[::10], apex[::10], strict=True):
        on = point_to_polyline_distance(np.array([[u_t, w3, 0.0]]), polyline)[0]
        below = point_to_polyline_distance(
            np.column_stack([np.full(50, u_t), w3 - np.linspace(0.05, 5.0, 50), np.zeros(50)]), polyline
        )
        assert abs(on - 2.6) < 0.02 and below.min() > 2.6, (u_t, on, below.min())


def test_medial_side_is_the_more_lateral_of_root_and_sac():
    root = np.array([[3.0, 10.0], [6.0, 0.0], [8.0, -10.0]])
    sac = np.array([[0.5, 10.0], [0.5, 0.0], [0.5, -10.0]])
    assert abs(medial_side_u(root, np.full(3, 2.5), sac, np.full(3, 5.0), 0.0) - 8.5) < 1e-9
    assert abs(medial_side_u(root, np.full(3, 2.5), sac, np.full(3, 9.0), 0.0) - 9.5) < 1e-9
