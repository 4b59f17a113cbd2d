"""Assembling and serving the monitor over the simulated operating room."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from kambin.monitor.app import Monitor, check_port_free

VIDEO_SIZE = (640, 360)
VIDEO_RATE_HZ = 30.0


@dataclass
class SimControls:
    """What the simulator controls act on."""

    script: object
    tracker: object
    video: object


def build_simulated_monitor(plan_path: str | os.PathLike | None = None, sessions_dir: str | os.PathLike = "sessions",
                            video_size: tuple[int, int] = VIDEO_SIZE, rate_hz: float = VIDEO_RATE_HZ,
                            step: Callable[[str], None] = lambda name: None,
                            alarms_path: str | os.PathLike | None = None) -> Monitor:
    """The simulated operating room (patient, plan, tracked scope, rendered video), its navigator
    (not started) and the monitor page over it. `alarms_path`: JSON of `AlarmConfig` thresholds."""
    from kambin.monitor.views import AnatomyView, SliceViews
    from kambin.navigation import simulation as sim
    from kambin.navigation.navigator import Navigator
    from kambin.navigation.pipeline import compose_navigation
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
    pipeline = compose_navigation(sim.guidance_model(case, alarms), sim.overlay_for(case, camera.intrinsics,
                                                                            camera.camera_to_scope),
                                  tracker.registration())
    metadata = {"source": "simulated operating room", "patient": {"seed": sim.SEED, "level": sim.LEVEL,
                                                                  "side": sim.SIDE, "pathology": sim.PATHOLOGY},
                "plan": case.plan.model_dump(mode="json"), "video_size": list(video_size)}
    navigator = Navigator(pipeline, video, tracker, metadata=metadata)
    step("3D view")
    anatomy = AnatomyView(meshes, case.entry, case.target)
    slices = SliceViews(case.ct, case.entry, case.target)
    return Monitor(navigator, anatomy, slices, sim=SimControls(script, tracker, video), sessions_dir=sessions_dir,
                   title="kambin monitor (simulated operating room)")


def serve_simulated(plan_path: str | os.PathLike | None = None, host: str = "127.0.0.1", port: int = 8080,
                    sessions_dir: str | os.PathLike = "sessions", step: Callable[[str], None] = lambda name: None,
                    ready: Callable[[str, float], None] = lambda url, seconds: None,
                    alarms_path: str | os.PathLike | None = None) -> None:
    """Build the simulated operating room and serve the monitor until interrupted."""
    started = time.perf_counter()
    check_port_free(host, port)
    monitor = build_simulated_monitor(plan_path, sessions_dir, step=step, alarms_path=alarms_path)
    monitor.navigator.start()
    host_in_url = f"[{host}]" if ":" in host else host
    monitor.server.controller.on_server_ready.add(
        lambda **_: ready(f"http://{host_in_url}:{port}/", time.perf_counter() - started))
    try:
        monitor.run(host=host, port=port)
    finally:
        monitor.navigator.stop()
