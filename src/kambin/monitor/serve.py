"""Assembling and serving the monitor: one builder (`build_monitor`) from sources, calibration and
registration; the simulated operating room (`build_simulated_monitor`) and a real setup
(`build_live_monitor`, from files and devices) only differ in what they hand it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kambin.monitor.app import Monitor, check_port_free

VIDEO_SIZE = (640, 360)
VIDEO_RATE_HZ = 30.0


@dataclass
class SimControls:
    """What the simulator controls act on."""

    script: object
    tracker: object
    video: object


@dataclass
class MonitorSetup:
    """Everything a monitor is assembled from.

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


def build_monitor(setup: MonitorSetup, sessions_dir: str | os.PathLike = "sessions",
                  step: Callable[[str], None] = lambda name: None) -> Monitor:
    """The navigator over the setup's sources (not started) and the monitor page over it."""
    from kambin.monitor.views import AnatomyView, SliceViews
    from kambin.navigation.case import endoscope_meshes_near_target, navigation_pipeline
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
    navigator = Navigator(pipeline, setup.video, setup.tracker, scope=setup.scope, metadata=metadata)
    meshes = setup.meshes
    if meshes is None:
        step("meshes")
        meshes = endoscope_meshes_near_target(case)
    step("3D view")
    anatomy = AnatomyView(meshes, case.entry, case.target)
    slices = SliceViews(case.ct, case.entry, case.target)
    return Monitor(navigator, anatomy, slices, sim=setup.sim, sessions_dir=sessions_dir, title=setup.title)


def simulated_setup(plan_path: str | os.PathLike | None = None, video_size: tuple[int, int] = VIDEO_SIZE,
                    rate_hz: float = VIDEO_RATE_HZ, step: Callable[[str], None] = lambda name: None,
                    alarms_path: str | os.PathLike | None = None) -> MonitorSetup:
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
    return MonitorSetup(case, {"simulated": True}, video, tracker, camera.intrinsics, camera.camera_to_scope,
                        tracker.registration(), alarms=alarms, meshes=meshes, metadata=metadata,
                        sim=SimControls(script, tracker, video), title="kambin monitor (simulated operating room)")


def build_simulated_monitor(plan_path: str | os.PathLike | None = None, sessions_dir: str | os.PathLike = "sessions",
                            video_size: tuple[int, int] = VIDEO_SIZE, rate_hz: float = VIDEO_RATE_HZ,
                            step: Callable[[str], None] = lambda name: None,
                            alarms_path: str | os.PathLike | None = None) -> Monitor:
    """The simulated operating room's monitor (navigator not started). `alarms_path`: JSON of
    `AlarmConfig` thresholds."""
    setup = simulated_setup(plan_path, video_size, rate_hz, step, alarms_path)
    return build_monitor(setup, sessions_dir, step)


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
               checked: Callable[[str, Callable], object] = lambda option, read: read()) -> MonitorSetup:
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
    return MonitorSetup(case, source, video, tracker, intrinsics, camera_to_scope, registration, scope, reference,
                        alarms=alarms, metadata=metadata, title="kambin monitor")


def serve_monitor(monitor: Monitor, host: str, port: int, started_s: float,
                  ready: Callable[[str, float], None] = lambda url, seconds: None) -> None:
    """Start the navigator and serve the page until interrupted."""
    monitor.navigator.start()
    host_in_url = f"[{host}]" if ":" in host else host
    monitor.server.controller.on_server_ready.add(
        lambda **_: ready(f"http://{host_in_url}:{port}/", time.perf_counter() - started_s))
    try:
        monitor.run(host=host, port=port)
    finally:
        monitor.navigator.stop()


def serve_simulated(plan_path: str | os.PathLike | None = None, host: str = "127.0.0.1", port: int = 8080,
                    sessions_dir: str | os.PathLike = "sessions", step: Callable[[str], None] = lambda name: None,
                    ready: Callable[[str, float], None] = lambda url, seconds: None,
                    alarms_path: str | os.PathLike | None = None) -> None:
    """Build the simulated operating room and serve the monitor until interrupted."""
    started = time.perf_counter()
    check_port_free(host, port)
    monitor = build_simulated_monitor(plan_path, sessions_dir, step=step, alarms_path=alarms_path)
    serve_monitor(monitor, host, port, started, ready)


def serve_live(options: LiveOptions, host: str = "127.0.0.1", port: int = 8080,
               sessions_dir: str | os.PathLike = "sessions", step: Callable[[str], None] = lambda name: None,
               ready: Callable[[str, float], None] = lambda url, seconds: None,
               checked: Callable[[str, Callable], object] = lambda option, read: read()) -> None:
    """Check a real setup's inputs, build it and serve the monitor until interrupted."""
    started = time.perf_counter()
    check_port_free(host, port)
    setup = live_setup(options, step, checked)
    try:
        monitor = build_monitor(setup, sessions_dir, step)
    except BaseException:
        setup.tracker.stop()
        raise
    serve_monitor(monitor, host, port, started, ready)
