"""Camera calibration and board detection.

Real data: laparoscope chessboard corners (scikit-surgerycalibration tests, BSD-3) and
calibration images (scikit-surgeryimage tests, BSD-3; OpenCV samples left01/right01).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kambin.calibration import Board, calibrate_camera, detect_charuco, detect_chessboard, read_image
from kambin.cli import main
from kambin.errors import InvalidInputError, UnreadableFileError, UnreliableResultError


def run_main(argv, capsys):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_board_parsing():
    board = Board.parse("chessboard:14x10:3")
    assert (board.kind, board.columns, board.rows, board.square_mm) == ("chessboard", 14, 10, 3.0)
    assert board.object_points().shape == (140, 3)
    assert np.allclose(board.object_points()[1], [3, 0, 0])
    charuco = Board.parse("charuco:13x10:3:2:DICT_4X4_250")
    assert charuco.object_points().shape == (108, 3)
    for bad in ("chessboard:14:3", "grid:3x3:1", "charuco:13x10:3", "charuco:13x10:3:5", "chessboard:14x10:3:2"):
        with pytest.raises(InvalidInputError):
            Board.parse(bad)


def test_unreadable_images(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        read_image(tmp_path / "none.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(UnreadableFileError, match="not an image"):
        read_image(junk)


def test_too_few_views_refused():
    board = Board.parse("chessboard:4x3:10")
    with pytest.raises(UnreliableResultError, match="at least 3 views"):
        calibrate_camera([board.object_points()] * 2, [np.zeros((12, 2))] * 2, (640, 480))


def _laparoscope(shared_data):
    folder = shared_data / "calibration" / "laparoscope-chessboard"
    model = np.loadtxt(folder / "chessboard_14_10_3.txt")
    views = [np.loadtxt(p) for p in sorted(folder.glob("left-*.png.points.txt"))]
    return model, views


def test_laparoscope_corners_give_the_published_rms(shared_data):
    model, views = _laparoscope(shared_data)
    assert len(views) == 9
    result = calibrate_camera([model] * len(views), views, (1920, 1080))
    assert result.rms_px == pytest.approx(0.57760, abs=5e-5)
    assert len(result.board_to_camera) == 9
    with pytest.raises(UnreliableResultError, match="exceeds 0.5 px"):
        calibrate_camera([model] * len(views), views, (1920, 1080), max_rms_px=0.5)


def test_left_image_has_130_corners(shared_data):
    image = read_image(shared_data / "calibration" / "images" / "leftImage.png")
    corners = detect_chessboard(image, Board.parse("chessboard:13x10:3"))
    assert corners is not None and corners.shape == (130, 2)
    assert detect_chessboard(image, Board.parse("chessboard:12x10:3")) is None


def test_charuco_image_has_108_corners(shared_data):
    """scikit-surgeryimage's test: 13x10 squares, 3/2 mm, DICT_4X4_250, legacy layout -> 108 corners."""
    image = read_image(shared_data / "calibration" / "images" / "test-charuco.png")
    board = Board("charuco", 13, 10, 3.0, 2.0, "DICT_4X4_250", legacy_pattern=True)
    ids, corners = detect_charuco(image, board)
    assert len(ids) == 108 and corners.shape == (108, 2)


def test_synthetic_views_recover_known_intrinsics():
    """Zhang's method on exact projections of a chessboard recovers K to a fraction of a pixel."""
    rng = np.random.default_rng(0)
    k = np.array([[800.0, 0, 320], [0, 800, 240], [0, 0, 1]])
    board = Board.parse("chessboard:9x6:10")
    model = board.object_points()
    views = []
    for _ in range(8):
        rvec = rng.normal(0, 0.3, 3)
        tvec = np.array([-40.0, -25.0, 400.0]) + rng.normal(0, 20, 3)
        pixels, _ = cv2.projectPoints(model, rvec, tvec, k, np.zeros(5))
        views.append(pixels.reshape(-1, 2))
    result = calibrate_camera([model] * 8, views, (640, 480))
    assert result.rms_px < 1e-3
    assert np.allclose(result.camera_matrix, k, atol=0.5)


def test_cli_camera_on_opencv_sample_pair(shared_data, capsys, tmp_path):
    folder = shared_data / "calibration" / "images"
    # Three views are needed: left01, right01, and left01 flipped (a different board pose).
    flipped = tmp_path / "left01_flipped.png"
    cv2.imwrite(str(flipped), cv2.flip(read_image(folder / "left01.jpg"), 1))
    code, stdout, _ = run_main(
        [
            "calibrate",
            "camera",
            str(folder / "left01.jpg"),
            str(folder / "right01.jpg"),
            str(flipped),
            "--board",
            "chessboard:9x6:25",
            "--json",
        ],
        capsys,
    )
    out = json.loads(stdout)
    assert code == 0 and out["n_views"] == 3 and 0 < out["rms_px"] < 1.0
    code, _, err = run_main(["calibrate", "camera", str(folder / "left01.jpg"), "--board", "chessboard:7x5:25"], capsys)
    assert code == 1 and "found in 0 of 1" in err
