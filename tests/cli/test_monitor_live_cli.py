"""`kambin monitor` on a real setup refuses bad input in one line naming the option, exit status 1,
before building anything: a missing PLUS file, an unreachable OpenIGTLink server, a video that
cannot be opened, a camera calibration for another image size, a PLUS recording without the scope's
transform. The inputs here are
small hand-made files; the setup's heavy parts (CT, meshes) are never reached. The readers' other
refusals are tested in-process (tests/navigation/test_live_inputs.py)."""

import json
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import KAMBIN, one_line_error
from kambin.imaging.io import write_volume
from kambin.imaging.volume import Volume
from kambin.planning.models import Plan
from kambin.render.views import write_video
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.plus import sequence_from_frames, write_plus_sequence

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime

SIZE = (64, 48)


def plus_file(path: Path, tools: tuple[str, ...]) -> Path:
    frames = [TrackingFrame(i / 60, {tool: ToolPose(tool, np.eye(4), "ok") for tool in tools}, i, i / 60)
              for i in range(3)]
    return write_plus_sequence(sequence_from_frames(frames), path)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A valid small setup; each test breaks one input."""
    d = tmp_path_factory.mktemp("setup")
    ct = write_volume(Volume(np.zeros((8, 8, 8), np.int16), np.eye(4)), d / "ct.nii.gz")
    labels = write_volume(Volume(np.zeros((8, 8, 8), np.uint8), np.eye(4), modality="SEG"), d / "labels.nii.gz")
    plan = Plan(level="L4-L5", side="left", approach="transforaminal", feasible=True, reasons=[],
                target_lps_mm=(0.0, 0.0, 0.0), target_source="test", entry_lps_mm=(80.0, 60.0, 0.0),
                cannula_diameter_mm=7.0, depth_mm=100.0, entry_offset_from_midline_mm=80.0, axial_angle_deg=30.0,
                sagittal_angle_deg=0.0, clearances_mm={}, foraminoplasty_mm3=0.0, entry_estimated=False,
                alternatives=[], search={}, inputs={"ct": str(ct), "labels": str(labels)})
    (d / "plan.json").write_text(plan.model_dump_json())
    plus_file(d / "tracking.igs.mha", ("scope", "reference"))
    write_video((np.full((SIZE[1], SIZE[0], 3), 40 * n, np.uint8) for n in range(3)), d / "video.mp4", fps=30)
    k = [[50.0, 0.0, 31.5], [0.0, 50.0, 23.5], [0.0, 0.0, 1.0]]
    (d / "camera.json").write_text(json.dumps({"camera_matrix": k, "distortion": [0, 0, 0, 0, 0],
                                               "image_size": list(SIZE)}))
    (d / "handeye.json").write_text(json.dumps({"camera_to_scope": np.eye(4).tolist()}))
    (d / "registration.json").write_text(json.dumps({"moving_to_fixed": np.eye(4).tolist(), "fre_mm": 0.5}))
    return d


def monitor(setup: Path, **replaced: str) -> subprocess.CompletedProcess:
    options = {"--plan": "plan.json", "--tracking": "plus:tracking.igs.mha", "--video": "video.mp4",
               "--camera": "camera.json", "--hand-eye": "handeye.json", "--registration": "registration.json",
               "--port": "0"}
    options.update({f"--{k.replace('_', '-')}": v for k, v in replaced.items()})
    args = [item for key, value in options.items() if value is not None for item in (key, value)]
    return subprocess.run([str(KAMBIN), "monitor", *args], capture_output=True, text=True, timeout=60, cwd=setup)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_missing_plus_file(setup):
    one_line_error(monitor(setup, tracking="plus:nope.igs.mha"), "--tracking", "nope.igs.mha: no such PLUS")


def test_unreachable_openigtlink_server(setup):
    port = closed_port()
    one_line_error(monitor(setup, tracking=f"igtl://127.0.0.1:{port}"), "--tracking",
                   f"no OpenIGTLink server at 127.0.0.1:{port}")


def test_video_that_cannot_be_opened(setup):
    (setup / "notes.mp4").write_text("not a video")
    one_line_error(monitor(setup, video="notes.mp4"), "--video", "not a video file OpenCV can read")


def test_camera_for_another_image_size(setup):
    wrong = json.loads((setup / "camera.json").read_text()) | {"image_size": [1280, 720]}
    (setup / "camera-720p.json").write_text(json.dumps(wrong))
    one_line_error(monitor(setup, camera="camera-720p.json"), "--camera", "1280x720", "video is 64x48")


def test_tracking_without_the_scope(setup):
    plus_file(setup / "pointer.igs.mha", ("pointer", "reference"))
    one_line_error(monitor(setup, tracking="plus:pointer.igs.mha"), "--tracking", "no ScopeToTracker",
                   "its tools: pointer, reference", "--scope-tool")
