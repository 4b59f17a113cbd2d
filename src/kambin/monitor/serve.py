"""Serving the monitor: the page (`build_monitor`) over a navigation session that
`kambin.navigation.session` assembles, for the simulated operating room or a real setup alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from kambin.monitor.app import Monitor, check_port_free
from kambin.navigation.session import (
    VIDEO_RATE_HZ,
    VIDEO_SIZE,
    LiveOptions,
    NavigationSetup,
    build_navigator,
    live_setup,
    simulated_setup,
)


def build_monitor(setup: NavigationSetup, sessions_dir: str | os.PathLike = "sessions",
                  step: Callable[[str], None] = lambda name: None) -> Monitor:
    """The navigator over the setup's sources (not started, `navigation.session.build_navigator`) and
    the monitor page over it."""
    from kambin.monitor.views import AnatomyView, SliceViews
    from kambin.navigation.case import endoscope_meshes_near_target

    navigator = build_navigator(setup)
    case = setup.case
    meshes = setup.meshes
    if meshes is None:
        step("meshes")
        meshes = endoscope_meshes_near_target(case)
    step("3D view")
    anatomy = AnatomyView(meshes, case.entry, case.target)
    slices = SliceViews(case.ct, case.entry, case.target)
    return Monitor(navigator, anatomy, slices, sim=setup.sim, sessions_dir=sessions_dir, title=setup.title)


def build_simulated_monitor(plan_path: str | os.PathLike | None = None, sessions_dir: str | os.PathLike = "sessions",
                            video_size: tuple[int, int] = VIDEO_SIZE, rate_hz: float = VIDEO_RATE_HZ,
                            step: Callable[[str], None] = lambda name: None,
                            alarms_path: str | os.PathLike | None = None) -> Monitor:
    """The simulated operating room's monitor (navigator not started). `alarms_path`: JSON of
    `AlarmConfig` thresholds."""
    setup = simulated_setup(plan_path, video_size, rate_hz, step, alarms_path)
    return build_monitor(setup, sessions_dir, step)


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
