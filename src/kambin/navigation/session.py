"""A navigation session assembled in one place: the case (plan, CT, label map, clearance fields), the
tracker and video sources, the camera's calibration, the hand-eye calibration and the patient
registration, from the simulated operating room (`simulated_setup`) or from a real setup's files and
devices (`live_setup`, every input checked first); and the navigator over it (`build_navigator`).
The monitor and the CLI call these; they never build a session themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

VIDEO_SIZE = (640, 360)
VIDEO_RATE_HZ = 30.0


@dataclass
class SimControls:
    """What the simulator controls act on."""

    script: object
    tracker: object
    video: object


@dataclass
class NavigationSetup:
    """Everything a navigation session is assembled from (and a monitor shows).

    case: `kambin.navigation.case.NavigationCase` (CT, labels, plan, clearance fields).
    case_source: where the case comes from, for replay ({"simulated": True} or {"ct": ..., "labels": ...}).
    video, tracker: the sources (a tracker may come already started, connected to check it).
    intrinsics, camera_to_scope: the video camera's calibration and where it sits on the scope.
    registration: `ct_to_reference` (a `Registration`; `Registration(None)`: no registration, no tool).
    scope, reference: the tracker's names of the scope's tip frame and of the patient reference.
    meshes: the structures near the target for the 3D view (made from the labels when None).
    """

    case: object
    case_source: dict
    video: object
    tracker: object
    intrinsics: object
    camera_to_scope: np.ndarray
    registration: object
    scope: str = "scope"
    reference: str = "reference"
    alarms: object = None
    meshes: list | None = None
    metadata: dict = field(default_factory=dict)
    sim: SimControls | None = None
    title: str = "kambin monitor"


def build_navigator(setup: NavigationSetup):
    """The navigator (not started) over the setup's sources: the pipeline of its case through its
    camera, with the session's metadata (plan, video size, and what replay needs to rebuild it)."""
    from kambin.navigation.case import navigation_pipeline
    from kambin.navigation.guidance import AlarmConfig
    from kambin.navigation.navigator import Navigator
    from kambin.navigation.replay import navigation_metadata

    case = setup.case
    alarms = setup.alarms if setup.alarms is not None else AlarmConfig()
    pipeline = navigation_pipeline(case, setup.intrinsics, setup.camera_to_scope, setup.registration, alarms,
                                   setup.scope, setup.reference)
    metadata = {**setup.metadata, "plan": case.plan.model_dump(mode="json"),
                "video_size": [setup.intrinsics.width, setup.intrinsics.height],
                "navigation": navigation_metadata(setup.case_source, case.plan, setup.intrinsics,
                                                  setup.camera_to_scope, setup.scope, setup.reference, alarms)}
    return Navigator(pipeline, setup.video, setup.tracker, scope=setup.scope, metadata=metadata)


def simulated_setup(plan_path: str | os.PathLike | None = None, video_size: tuple[int, int] = VIDEO_SIZE,
                    rate_hz: float = VIDEO_RATE_HZ, step: Callable[[str], None] = lambda name: None,
                    alarms_path: str | os.PathLike | None = None) -> NavigationSetup:
    """The simulated operating room: synthetic patient and plan, tracked scope, rendered video, the
    simulated registration and the simulated endoscope's calibration."""
    from kambin.navigation import simulation as sim
    from kambin.phantom import DEMO_LEVEL, DEMO_PATHOLOGY, DEMO_SEED, DEMO_SIDE
    from kambin.render.endoscope import EndoscopeCamera

    alarms = sim.load_alarms(alarms_path) if alarms_path is not None else None
    step("synthetic patient and plan")
    case = sim.build_case(plan_path)
    step("meshes")
    meshes = sim.endoscope_meshes_near_target(case)
    script = sim.ScopeScript(case)
    tracker = sim.OperatingRoomTracker(script, sim.reference_position(case), realtime=True)
    camera = EndoscopeCamera.create(*video_size)
    video = sim.FreezableEndoscopeSource(meshes, script.scope_to_ct, *video_size, rate_hz=rate_hz, realtime=True,
                                         time_base="clock")
    metadata = {"source": "simulated operating room",
                "patient": {"seed": DEMO_SEED, "level": DEMO_LEVEL, "side": DEMO_SIDE, "pathology": DEMO_PATHOLOGY}}
    return NavigationSetup(case, {"simulated": True}, video, tracker, camera.intrinsics, camera.camera_to_scope,
                        tracker.registration(), alarms=alarms, meshes=meshes, metadata=metadata,
                        sim=SimControls(script, tracker, video), title="kambin monitor (simulated operating room)")


@dataclass(frozen=True)
class LiveOptions:
    """A real setup as the command line gives it (see `kambin.navigation.live` for the formats)."""

    plan: str | os.PathLike
    tracking: str
    video: str
    camera: str | os.PathLike
    hand_eye: str | os.PathLike
    registration: str | os.PathLike | None = None
    ct: str | os.PathLike | None = None
    labels: str | os.PathLike | None = None
    scope_tool: str = "scope"
    reference_tool: str = "reference"
    alarms: str | os.PathLike | None = None


def live_setup(options: LiveOptions, step: Callable[[str], None] = lambda name: None,
               checked: Callable[[str, Callable], object] = lambda option, read: read()) -> NavigationSetup:
    """A real setup: every input read and checked first (plan, CT and label map present, tool
    names, camera, hand-eye, registration, alarms, the video opened and its size against the
    camera's, the tracker's file read or its server reached), then the case built.
    `checked(option, read)` runs one check; the CLI's wraps its errors with the option's name."""
    from kambin.calibration.hand_eye import read_hand_eye
    from kambin.calibration.intrinsics import read_camera
    from kambin.navigation import live
    from kambin.navigation.case import case_from_files, load_alarms, load_plan, plan_inputs
    from kambin.registration.registration_file import Registration, read_registration

    plan = checked("--plan", lambda: load_plan(options.plan))
    ct_path, labels_path = plan_inputs(plan, options.ct, options.labels)
    scope = checked("--scope-tool", lambda: live.tool_frame_name(options.scope_tool))
    reference = checked("--reference-tool", lambda: live.tool_frame_name(options.reference_tool))
    intrinsics = checked("--camera", lambda: read_camera(options.camera))
    camera_to_scope = checked("--hand-eye", lambda: read_hand_eye(options.hand_eye))
    registration = (Registration(None) if options.registration is None
                    else checked("--registration", lambda: read_registration(options.registration)))
    alarms = None if options.alarms is None else checked("--alarms", lambda: load_alarms(options.alarms))
    size = checked("--video", lambda: live.probe_video(options.video))
    checked("--camera", lambda: live.check_camera_matches_video(intrinsics, size))
    video = checked("--video", lambda: live.video_from_spec(options.video))
    tracker = checked("--tracking", lambda: live.tracker_from_spec(options.tracking, scope, reference))
    try:
        step("CT, label map and clearance fields")
        case = case_from_files(plan, ct_path, labels_path)
    except BaseException:
        tracker.stop()  # an OpenIGTLink tracker is already connected
        raise
    metadata = {"source": "live", "inputs": {"tracking": options.tracking, "video": options.video,
                                             "camera": str(options.camera), "hand_eye": str(options.hand_eye),
                                             "registration": None if options.registration is None
                                             else str(options.registration)}}
    source = {"ct": str(os.path.abspath(ct_path)), "labels": str(os.path.abspath(labels_path))}
    return NavigationSetup(case, source, video, tracker, intrinsics, camera_to_scope, registration, scope, reference,
                        alarms=alarms, metadata=metadata, title="kambin monitor")
