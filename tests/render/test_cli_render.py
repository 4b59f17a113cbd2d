"""`kambin render`: bad input first (one line, non-zero exit, nothing written), then each command."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kambin.anatomy.labels import label_id
from kambin.cli import main
from kambin.imaging import Volume, write_volume

ENTRY = ["60", "-20", "0"]
TARGET = ["5", "0", "0"]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A small CT (soft-tissue body, a dense 'vertebral body') with its label map beside it."""
    folder = tmp_path_factory.mktemp("case")
    shape, spacing = (64, 56, 40), (2.0, 2.0, 2.0)
    origin = tuple(-(n - 1) * s / 2 for n, s in zip(shape, spacing, strict=True))
    hu = np.full(shape, -1000.0, np.float32)
    i, j, k = np.ogrid[: shape[0], : shape[1], : shape[2]]
    body = ((i - 32) / 28.0) ** 2 + ((j - 28) / 22.0) ** 2 <= 1.0
    hu[np.broadcast_to(body, shape)] = 30.0
    labels = np.zeros(shape, np.uint16)
    labels[24:40, 20:36, 8:32] = label_id("vertebrae_L4")
    hu[24:40, 20:36, 8:32] = 700.0
    labels[40:44, 26:30, 14:26] = label_id("nerve_root_L4_left")
    ct = Volume.from_geometry(hu, spacing, origin)
    write_volume(ct, folder / "ct.nii.gz")
    write_volume(ct.with_voxels(labels, modality="SEG"), folder / "labels.nii.gz")
    plan = folder / "plan.json"
    plan.write_text(json.dumps({"entry_lps_mm": [60, -20, 0], "target_lps_mm": [5, 0, 0], "cannula_diameter_mm": 7.0,
                                "approach": "transforaminal"}))
    return folder


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["drr", "{ct}", "--view", "oblique", "-o", "{out}.png"], "--view must be ap or lateral"),
        (["drr", "{ct}", "-o", "{out}.gif"], "output must end in"),
        (["drr", "{ct}", "--plan", "{dir}/missing.json", "-o", "{out}.png"], "no such plan file"),
        (["drr", "{ct}", "--entry", "1", "2", "3", "-o", "{out}.png"], "go together"),
        (["endoscope", "{ct}", "-o", "{out}.png"], "needs a path"),
        (["endoscope", "{ct}", "--plan", "{dir}/plan.json", "--at", "500", "-o", "{out}.png"], "outside the path"),
        (["endoscope", "{ct}", "--plan", "{dir}/plan.json", "--at", "middle", "-o", "{out}.png"], "--at must be"),
        (["flythrough", "{ct}", "--plan", "{dir}/plan.json", "-o", "{out}.avi"], "output must end in"),
        (["drr", "{dir}/nothing.nii.gz", "-o", "{out}.png"], ""),
    ],
)
def test_bad_input_gives_one_line_and_writes_nothing(case, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    argv = ["render"] + [a.format(ct=case / "ct.nii.gz", out=out, dir=case) for a in extra]
    code, captured = _run(argv, capsys)
    assert code != 0
    assert "Traceback" not in captured.err
    assert message in captured.err.replace("\n", " ")
    assert list(tmp_path.iterdir()) == []


def test_bad_plan_file_is_reported(case, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"entry_lps_mm": [1, 2], "target_lps_mm": [0, 0, 0]}))
    argv = ["render", "drr", str(case / "ct.nii.gz"), "--plan", str(bad), "-o", str(tmp_path / "x.png")]
    code, captured = _run(argv, capsys)
    assert code == 1 and "entry_lps_mm" in captured.err
    assert not (tmp_path / "x.png").exists()


def test_drr_ap_and_lateral_with_the_planned_cannula(case, tmp_path, capsys):
    for view in ("ap", "lateral"):
        out = tmp_path / f"drr-{view}.png"
        code, _ = _run(["render", "drr", str(case / "ct.nii.gz"), "--view", view, "--plan", str(case / "plan.json"),
                        "--pixels", "128", "-o", str(out)], capsys)
        assert code in (0, None)
        image = cv2.imread(str(out))
        assert image.shape == (128, 128, 3)
        assert image[64, 64].mean() < image[10, 64].mean() or view == "lateral"
    angled = tmp_path / "angled.png"
    code, _ = _run(["render", "drr", str(case / "ct.nii.gz"), "--angles", "20", "-10", "--entry", *ENTRY, "--target",
                    *TARGET, "--pixels", "96", "-o", str(angled)], capsys)
    assert code in (0, None) and angled.is_file()


def test_endoscope_and_flythrough(case, tmp_path, capsys):
    out = tmp_path / "scope.png"
    code, _ = _run(["render", "endoscope", str(case / "ct.nii.gz"), "--entry", *ENTRY, "--target", *TARGET,
                    "--at", "30", "--optics", "0", "--size", "160x120", "-o", str(out)], capsys)
    assert code in (0, None)
    image = cv2.imread(str(out))
    assert image.shape == (120, 160, 3)
    assert image[0, 0].max() == 0  # outside the field stop
    assert image[50:70, 70:90].mean() > 20  # the lit vertebra ahead
    video = tmp_path / "fly.mp4"
    code, captured = _run(["render", "flythrough", str(case / "ct.nii.gz"), "--plan", str(case / "plan.json"),
                           "--step", "10", "--size", "160x120", "-o", str(video)], capsys)
    assert code in (0, None)
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 7  # 0, 10, ..., 50 mm and the target at 58.6 mm
    capture.release()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
