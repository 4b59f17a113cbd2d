"""The simulated operating room written to files, in the formats a real setup gives `kambin monitor`:
the planning CT and label map, PLAN.json naming them, the tracker's recording as a PLUS sequence,
the endoscope's video as MP4, the camera intrinsics, the hand-eye calibration and the patient
registration. With these the live monitor runs with no hardware (tests, demonstrations), through
the same readers as a real setup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kambin.geometry.transforms import invert
from kambin.navigation import simulation as sim


@dataclass(frozen=True)
class SetupFiles:
    """Paths of the written setup."""

    plan: Path
    ct: Path
    labels: Path
    tracking: Path
    video: Path
    camera: Path
    hand_eye: Path
    registration: Path
    tracker_rate_hz: float
    video_rate_hz: float
    seconds: float


def write_simulated_setup(case: sim.SimulatedCase, directory: str | os.PathLike, seconds: float = 6.0,
                          size: tuple[int, int] = (320, 180), video_rate_hz: float = 30.0,
                          meshes: list | None = None) -> SetupFiles:
    """Record `seconds` of the simulated operating room (scope along the plan, tracker at 60 Hz with
    its noise) and write the setup's files into `directory` (which must exist)."""
    from kambin.anatomy.label_io import write_label_map
    from kambin.anatomy.labels import label_by_id
    from kambin.calibration.hand_eye import write_hand_eye
    from kambin.calibration.intrinsics import write_camera
    from kambin.imaging.io import write_volume
    from kambin.planning.plan_file import write_plan
    from kambin.registration.registration_file import registration_file_fields, write_registration
    from kambin.render.endoscope import EndoscopeCamera
    from kambin.render.video_source import SimulatedEndoscopeSource
    from kambin.render.views import write_video
    from kambin.tracking.plus import sequence_from_frames, write_plus_sequence

    directory = Path(directory)
    ct_path = write_volume(case.ct, directory / "ct.nii.gz")
    present = [int(i) for i in np.unique(np.asarray(case.labels.voxels)) if i != 0]
    labels_path, _ = write_label_map(case.labels, {str(i): label_by_id(i).name for i in present},
                                     directory / "labels.nii.gz")
    plan = case.plan.model_copy(update={"inputs": {"ct": str(ct_path.absolute()),
                                                   "labels": str(labels_path.absolute())}})
    plan_path = write_plan(plan, directory / "plan.json")

    script = sim.ScopeScript(case)
    tracker = sim.OperatingRoomTracker(script, sim.reference_position(case), realtime=False)
    with tracker:
        frames = [tracker.get_frame() for _ in range(int(round(seconds * tracker.rate_hz)) + 1)]
        start = frames[0].timestamp_s - frames[0].source_timestamp_s  # the recording clock's origin
    tracking_path = directory / "tracking.igs.mha"
    write_plus_sequence(sequence_from_frames(frames), tracking_path)

    meshes = sim.endoscope_meshes_near_target(case) if meshes is None else meshes
    video = SimulatedEndoscopeSource(meshes, lambda t: script.scope_to_ct(start + t), *size, rate_hz=video_rate_hz)

    def images():
        with video:
            for _ in range(int(round(seconds * video_rate_hz))):
                yield video.read().image_rgb

    video_path = directory / "video.mp4"
    write_video(images(), video_path, fps=video_rate_hz)

    camera = EndoscopeCamera.create(*size)
    camera_path = write_camera(camera.intrinsics, directory / "camera.json", rms_px=0.0)
    hand_eye_path = write_hand_eye(camera.camera_to_scope, directory / "handeye.json")
    registration = tracker.registration()
    # As `kambin register points --json` prints it: moving (reference) to fixed (CT).
    registration_path = write_registration(
        registration_file_fields(invert(registration.ct_to_reference), registration.error_mm, None, n_points=6),
        directory / "registration.json",
    )
    return SetupFiles(plan_path, ct_path, labels_path, tracking_path, video_path, camera_path, hand_eye_path,
                      registration_path, tracker.rate_hz, video_rate_hz, seconds)
