"""Morphometry definitions on constructed geometry with known answers (Kambin's triangle and its
inscribed circle, the foramen, the canal, the flags, the skin); the same measures on synthetic
patients against their truth are in test_spine_model.py."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.anatomy import morphometry as morph
from kambin.anatomy.disc_estimates import DiscEstimate
from kambin.anatomy.landmarks import VertebraLandmarks
from kambin.anatomy.tube import Tube
from kambin.imaging.volume import Volume


def _vertebra(name="L5", centre=(0.0, 0.0, 0.0)) -> VertebraLandmarks:
    c = np.asarray(centre, dtype=float)
    return VertebraLandmarks(
        name=name,
        label_id=27,
        body_centre_lps_mm=c,
        axes_lps=np.eye(3),
        superior_endplate_centre_lps_mm=c + [0.0, 0.0, 12.0],
        superior_endplate_normal_lps=np.array([0.0, 0.0, 1.0]),
        inferior_endplate_centre_lps_mm=c - [0.0, 0.0, 12.0],
        inferior_endplate_normal_lps=np.array([0.0, 0.0, -1.0]),
        body_height_mm=24.0,
        body_half_width_mm=22.0,
        body_half_depth_mm=17.0,
        posterior_wall_v_mm=15.0,
        canal_depth_mm=16.0,
        canal_width_mm=24.0,
        pedicle_centre_lps_mm={"left": c + [18.0, 19.0, 4.0], "right": c + [-18.0, 19.0, 4.0]},
        pedicle_u_mm={"left": 18.0, "right": 18.0},
    )


def _line(a, b, radius, n=200):
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.asarray(a) + t * (np.subtract(b, a)), np.full(n, radius)


def test_kambin_triangle_of_a_known_right_triangle():
    """Exiting root border w = 32 - u (45 degrees), traversing root's lateral edge at u = 6.5, lower
    endplate at w = 12: base = height = 13.5 mm, hypotenuse 13.5 sqrt 2, inscribed circle
    2r = a + b - c (Kambin 1991's triangle as a right triangle; any geometry text)."""
    lower = _vertebra()
    ex_pts, ex_r = _line([0.0, 16.0, 32.0], [40.0, 16.0, -8.0], 0.0)
    tr_pts, tr_r = _line([5.0, 16.0, 40.0], [5.0, 16.0, -20.0], 1.5)
    sac_pts, sac_r = _line([0.0, 24.0, 40.0], [0.0, 24.0, -20.0], 4.0)
    tri = morph.kambin_triangle(
        lower, "left", Tube("ex", ex_pts, ex_r), Tube("tr", tr_pts, tr_r), Tube("sac", sac_pts, sac_r)
    )
    assert tri["base_mm"] == pytest.approx(13.5, abs=0.05)
    assert tri["height_mm"] == pytest.approx(13.5, abs=0.05)
    assert tri["hypotenuse_mm"] == pytest.approx(13.5 * np.sqrt(2), abs=0.1)
    assert tri["inscribed_diameter_mm"] == pytest.approx(27.0 - 13.5 * np.sqrt(2), abs=0.1)
    assert tri["area_mm2"] == pytest.approx(0.5 * 13.5 * 13.5, rel=0.01)
    # the sac bounds the medial side when it is more lateral than the traversing root
    wide_sac = Tube("sac", sac_pts, np.full(len(sac_pts), 9.0))
    tri = morph.kambin_triangle(lower, "left", Tube("ex", ex_pts, ex_r), Tube("tr", tr_pts, tr_r), wide_sac)
    assert tri["base_mm"] == pytest.approx(11.0, abs=0.05)
    # mirrored on the right side: the same triangle
    ex_r_pts = ex_pts * [-1.0, 1.0, 1.0]
    tri_r = morph.kambin_triangle(
        lower, "right", Tube("ex", ex_r_pts, ex_r), Tube("tr", tr_pts * [-1, 1, 1], tr_r), Tube("sac", sac_pts, sac_r)
    )
    assert tri_r["inscribed_diameter_mm"] == pytest.approx(27.0 - 13.5 * np.sqrt(2), abs=0.1)


def test_foramen_between_two_pedicle_bars():
    """Pedicles above w = +10 and below w = -8, the bodies in front of v = 20 with a 10 mm disc
    between them, the articular processes behind v = 32: height 18 mm, width 12 mm (0.5 mm voxels)."""
    spacing = 0.5
    grid = Volume.from_geometry(np.zeros((120, 120, 80), np.uint8), (spacing,) * 3, (-10.0, -10.0, -20.0))
    ijk = np.indices(grid.shape_ijk).reshape(3, -1).T
    p = grid.ijk_to_lps(ijk.astype(float))
    bodies = (p[:, 1] < 20.0) & (np.abs(p[:, 2]) > 5.0)
    hard = ((p[:, 2] >= 10.0) | (p[:, 2] <= -8.0) | (p[:, 1] >= 32.0) | bodies).reshape(grid.shape_ijk)
    soft = (p[:, 1] < 20.0).reshape(grid.shape_ijk) & ~hard
    disc = DiscEstimate(
        "L4-L5", "L4", "L5", np.zeros(3), np.array([0.0, 0.0, 1.0]), 10.0, np.array([0.0, 20.0, 0.0]), 8.0
    )
    upper, lower = _vertebra("L4"), _vertebra("L5")
    fo = morph.foramen(grid, hard, soft, upper, lower, disc, "left")
    assert fo["height_mm"] == pytest.approx(18.0, abs=2 * spacing)
    assert fo["width_mm"] == pytest.approx(12.0, abs=2 * spacing)
    assert fo["area_mm2"] == pytest.approx(18.0 * 12.0, rel=0.12)


def test_foramen_height_ends_at_the_articular_processes():
    """Behind the articular processes (v >= 38 here) the pedicle bars end and a free run reaches from
    a lamina 20 mm above to one 20 mm below: no foramen, so the height stays the 18 mm between the
    pedicles (Hasegawa 1995), not 40."""
    spacing = 0.5
    grid = Volume.from_geometry(np.zeros((120, 120, 100), np.uint8), (spacing,) * 3, (-10.0, -10.0, -25.0))
    ijk = np.indices(grid.shape_ijk).reshape(3, -1).T
    p = grid.ijk_to_lps(ijk.astype(float))
    bodies = (p[:, 1] < 20.0) & (np.abs(p[:, 2]) > 5.0)
    pedicles = ((p[:, 2] >= 10.0) | (p[:, 2] <= -8.0)) & (p[:, 1] < 38.0)
    processes = (p[:, 1] >= 32.0) & (p[:, 1] < 38.0)
    laminae = np.abs(p[:, 2]) >= 20.0
    hard = (bodies | pedicles | processes | laminae).reshape(grid.shape_ijk)
    soft = (p[:, 1] < 20.0).reshape(grid.shape_ijk) & ~hard
    disc = DiscEstimate(
        "L4-L5", "L4", "L5", np.zeros(3), np.array([0.0, 0.0, 1.0]), 10.0, np.array([0.0, 20.0, 0.0]), 8.0
    )
    fo = morph.foramen(grid, hard, soft, _vertebra("L4"), _vertebra("L5"), disc, "left")
    assert fo["height_mm"] == pytest.approx(18.0, abs=2 * spacing)


def test_canal_area_of_a_ring():
    """A bony ring of inner radius 8 mm around the canal's centre: area pi 8^2 within 4 %; an open
    ring (no lamina) is not an enclosed canal."""
    vert = _vertebra()
    grid = Volume.from_geometry(np.zeros((160, 160, 40), np.uint8), (0.5, 0.5, 0.5), (-40.0, -20.0, -6.0))
    ijk = np.indices(grid.shape_ijk).reshape(3, -1).T
    p = grid.ijk_to_lps(ijk.astype(float))
    r = np.hypot(p[:, 0], p[:, 1] - 23.0)
    ring = ((r >= 8.0) & (r <= 13.0)).reshape(grid.shape_ijk)
    section = morph.canal_section(grid, ring, vert)
    assert section["area_mm2"] == pytest.approx(np.pi * 64.0, rel=0.04)
    open_ring = ring & (p[:, 1] < 28.0).reshape(grid.shape_ijk)
    assert morph.canal_section(grid, open_ring, vert)["area_mm2"] is None


def test_flags_follow_the_cited_thresholds():
    disc = DiscEstimate("L4-L5", "L4", "L5", np.zeros(3), np.array([0, 0, 1.0]), 11.0, np.zeros(3), 6.0)
    assert morph.flags(14.9, 150.0, disc) == ["foraminal stenosis"]
    assert morph.flags(15.1, 99.0, disc) == ["central stenosis"]
    low_posterior = DiscEstimate("L4-L5", "L4", "L5", np.zeros(3), np.array([0, 0, 1.0]), 11.0, np.zeros(3), 3.9)
    assert morph.flags(None, None, low_posterior) == ["disc height loss"]
    thin = DiscEstimate("L4-L5", "L4", "L5", np.zeros(3), np.array([0, 0, 1.0]), 0.69 * 11.4, np.zeros(3), 5.0)
    assert morph.flags(None, None, thin) == ["disc height loss"]
    assert morph.flags(20.0, 200.0, disc) == []


def test_skin_behind_a_point():
    grid = Volume.from_geometry(np.zeros((40, 40, 10), np.uint8), (1.0, 1.0, 1.0))
    body = np.zeros(grid.shape_ijk, bool)
    body[:, :30, :] = True
    skin = morph.skin_behind(body, grid, np.array([20.0, 5.0, 5.0]), np.array([0.0, 1.0, 0.0]))
    assert skin[1] == pytest.approx(29.5, abs=0.6)
    assert morph.skin_behind(body, grid, np.array([20.0, 35.0, 5.0]), np.array([0.0, 1.0, 0.0])) is None
