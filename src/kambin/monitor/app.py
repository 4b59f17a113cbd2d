"""The operating-room monitor: a trame page (Vue 3 + Vuetify, no JavaScript build) over a running
`Navigator`, and a small HTTP API on the same server.

The page: the endoscope video with its overlay, the 3D view with the tool, three slices through
the tip, the guidance panel (large type, readable from two metres), the alarms and the states
that are never hidden (TRACKING LOST, NO REGISTRATION, POOR REGISTRATION, VIDEO FROZEN), and the
controls (record, registration status). The research-use notice is on the page at all times.

The monitor only reads the navigator (and calls its controls); navigation never imports it. A
push loop on the server's event loop reads the navigator every `TICK_S`: a new video frame is
sent as a JPEG data URL; the states at every tick (so a dropout shows within a tick of the
tracker's frame; a change of tracking state is sent alone, before any picture); the 3D view and
slices at most every `VIEWS_EVERY_S`, or on the next tick when the tool appears or disappears.
The views with the tool are drawn on one worker thread, never on the event loop: drawing the
slices takes tens of milliseconds, and on the loop it held back both the states and the HTTP
controls (a dropout was shown 212 ms late on a loaded 2-core machine). Without a tool the views do
not change (slices through the target), so they are drawn once and put back the tick after the
tool is lost; a picture of the tool finished after that is dropped, not shown.

HTTP API:
    GET  /api/status                      health as JSON (Navigator.status + browser clients)
    POST /api/record/start, /api/record/stop
Simulator controls (only with --sim; they drive the simulated operating room, nothing real):
    POST /api/sim/scenario/{plan|toward_root}
    POST /api/sim/dropout/{on|off}        scope out of the tracker's view
    POST /api/sim/freeze/{on|off}         video repeats its last picture
    POST /api/sim/registration/{ok|poor|none}
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from kambin.errors import InvalidInputError
from kambin.navigation.navigator import Navigator
from kambin.navigation.recording import DISCLAIMER

TICK_S = 0.01
VIEWS_EVERY_S = 0.2
VIDEO_MAX_WIDTH = 960
JPEG_QUALITY = 75


def jpeg_data_url(image_rgb: np.ndarray, max_width: int | None = None) -> str:
    """An RGB image as a `data:image/jpeg;base64,...` URL (resized to at most `max_width`)."""
    if max_width is not None and image_rgb.shape[1] > max_width:
        height = int(round(image_rgb.shape[0] * max_width / image_rgb.shape[1]))
        image_rgb = cv2.resize(image_rgb, (max_width, height), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(image_rgb[:, :, ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line error if `host:port` cannot be bound (in use, or not an address of this machine)."""
    if not 0 <= port <= 65535:
        raise InvalidInputError(f"port must be 0 to 65535, not {port}")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InvalidInputError(
                f"cannot listen on {host}:{port} ({error.strerror}); choose another --port or stop what uses it"
            ) from None


def _number(value: float | None, unit: str, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f} {unit}"


class Monitor:
    """The trame application over one navigator. `sim` is the simulated operating room's controls
    (an object with `script` and `tracker`), or None for a real setup."""

    def __init__(self, navigator: Navigator, anatomy_view, slice_views, sim=None,
                 sessions_dir: str | Path = "sessions", title: str = "kambin monitor"):
        from trame.app import get_server

        self.navigator, self.anatomy_view, self.slice_views, self.sim = navigator, anatomy_view, slice_views, sim
        self.sessions_dir = Path(sessions_dir)
        self.title = title
        self.server = get_server(f"kambin-monitor-{id(self)}", client_type="vue3")
        self.clients = 0
        self._last_index = -1
        self._last_views_s = 0.0
        self._last_tool_drawn: bool | None = None
        self._last_tracking: str | None = None
        self._views_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-views")
        self._views_drawing: Future | None = None
        self._no_tool_urls = self._draw_views(None)  # the views without a tool never change
        self._init_state()
        self._build_ui()
        self.server.controller.on_server_bind.add(self._bind_routes)
        self.server.controller.on_server_ready.add(self._on_ready)
        self.server.controller.toggle_recording = self.toggle_recording
        self.server.controller.sim_scenario = self.sim_scenario
        self.server.controller.sim_dropout = self.sim_dropout

    # -- state and page -----------------------------------------------------------------------
    def _init_state(self) -> None:
        s = self.server.state
        blank = jpeg_data_url(np.zeros((36, 64, 3), np.uint8))
        s.update({
            "video_src": blank, "video_index": -1, "view3d_src": blank, "tool_drawn": False,
            "slice_axial": blank, "slice_sagittal": blank, "slice_coronal": blank,
            "nav_state": "starting", "tracking": "lost", "video_state": "waiting", "registration": "none",
            "registration_text": "", "alarms": [], "recording": False, "recording_dir": "",
            "g_target": "—", "g_aim": "—", "g_depth": "—", "g_angle": "—", "g_offplan": "—",
            "g_root": "—", "g_traversing": "—", "g_sac": "—", "g_bone": "—",
            "fps": 0.0, "latency": "", "disclaimer": DISCLAIMER, "sim": self.sim is not None,
            "sim_dropout": False, "sim_scenario": "plan",
        })

    def _build_ui(self) -> None:
        from trame.ui.vuetify3 import SinglePageLayout
        from trame.widgets import html
        from trame.widgets import vuetify3 as v

        big = "font-size: 2.2rem; font-weight: 700; line-height: 1.15;"
        label = "font-size: 1.1rem; color: #bbb;"
        with SinglePageLayout(self.server) as layout:
            layout.title.set_text(self.title)
            with layout.toolbar:
                v.VSpacer()
                html.Div("{{ disclaimer }}", id="disclaimer",
                         style="color: #ffcc00; font-weight: 700; font-size: 1.05rem; margin-right: 16px;")
                v.VChip("registration: {{ registration_text }}", id="registration",
                        color=("registration == 'ok' ? 'green' : 'red'",), classes="mr-2")
                v.VChip("{{ fps }} fps  {{ latency }}", id="rate", classes="mr-2")
                v.VBtn("{{ recording ? 'stop recording' : 'record' }}", id="record-button",
                       color=("recording ? 'red' : 'grey'",), click=self.server.controller.toggle_recording)
            with layout.content, v.VContainer(fluid=True, classes="pa-2"):
                html.Div("TRACKING LOST: tool not shown", id="tracking-state", v_show="tracking == 'lost'",
                         raw_attrs=[':data-state="tracking"'],
                         style="background: #c00; color: white; font-size: 2.6rem; font-weight: 800; "
                               "text-align: center; padding: 4px;")
                html.Div("{{ video_state == 'ended' ? 'VIDEO ENDED' : 'VIDEO FROZEN' }}", id="video-state",
                         v_show="video_state == 'frozen' || video_state == 'ended'",
                         raw_attrs=[':data-state="video_state"'],
                         style="background: #c00; color: white; font-size: 2.6rem; font-weight: 800; "
                               "text-align: center; padding: 4px;")
                with v.VRow(dense=True):
                    with v.VCol(cols=5):
                        html.Img(id="video", src=("video_src",), style="width: 100%; background: black;")
                        html.Span("{{ video_index }}", id="video-index", style="display: none;")
                    with v.VCol(cols=3, id="guidance"):
                        html.Div("{{ nav_state }}", id="nav-state", raw_attrs=[':data-state="nav_state"'],
                                 style=("'font-size: 2.2rem; font-weight: 800; padding: 4px 10px; color: white; "
                                        "background: ' + ({ok: '#2a7', warn: '#e80', stop: '#c00'}[nav_state] "
                                        "|| '#c00')",))
                        with html.Div(id="alarms", style="min-height: 3.2rem;"):
                            html.Div("{{ alarm }}", v_for="alarm in alarms", key="alarm",
                                     style="font-size: 1.8rem; font-weight: 800; color: #ff5050;")
                        for key, name in (("g_target", "to target"), ("g_aim", "aim off target"), ("g_depth", "depth"),
                                          ("g_angle", "angle off plan"), ("g_offplan", "off plan"),
                                          ("g_root", "exiting root"), ("g_traversing", "traversing root"),
                                          ("g_sac", "dural sac"), ("g_bone", "bone")):
                            with html.Div(style="display: flex; justify-content: space-between;"):
                                html.Span(name, style=label + " align-self: center;")
                                html.Span(f"{{{{ {key} }}}}", id=key.replace("_", "-"), style=big)
                        if self.sim is not None:
                            with html.Div(id="sim-controls", style="margin-top: 10px;"):
                                html.Div("simulator controls", style=label)
                                v.VBtn("along plan", size="small", classes="mr-1",
                                       click=(self.server.controller.sim_scenario, "['plan']"))
                                v.VBtn("toward nerve root", size="small", classes="mr-1",
                                       click=(self.server.controller.sim_scenario, "['toward_root']"))
                                v.VBtn("{{ sim_dropout ? 'restore tracker' : 'tracker dropout' }}",
                                       size="small", click=(self.server.controller.sim_dropout, "[!sim_dropout]"))
                    with v.VCol(cols=4):
                        html.Img(id="view3d", src=("view3d_src",), raw_attrs=[':data-tool-drawn="tool_drawn"'],
                                 style="width: 100%;")
                        with html.Div(style="display: flex; gap: 4px;"):
                            for orientation in ("axial", "sagittal", "coronal"):
                                html.Img(id=f"slice-{orientation}", src=(f"slice_{orientation}",),
                                         style="width: 33%;")

    # -- HTTP API -------------------------------------------------------------------------------
    def _bind_routes(self, wslink_server) -> None:
        from aiohttp import web

        async def status(request):
            return web.json_response({**self.navigator.status(), "sim": self._sim_status()})

        async def record(request):
            action = request.match_info["action"]
            if action not in ("start", "stop"):
                raise web.HTTPNotFound(text="record action must be start or stop")
            if (action == "start") != bool(self.navigator.recording_dir):
                self.toggle_recording()
            return web.json_response({"recording": self.navigator.recording_dir})

        async def scenario(request):
            try:
                self.sim_scenario(request.match_info["name"])
            except InvalidInputError as error:
                raise web.HTTPBadRequest(text=str(error)) from None
            return web.json_response(self._sim_status())

        def switch(control):
            async def handler(request):
                value = request.match_info["value"]
                if value not in ("on", "off"):
                    raise web.HTTPBadRequest(text="the value must be on or off")
                control(value == "on")
                return web.json_response(self._sim_status())

            return handler

        async def registration(request):
            try:
                self.sim_registration(request.match_info["state"])
            except InvalidInputError as error:
                raise web.HTTPBadRequest(text=str(error)) from None
            return web.json_response(self._sim_status())

        routes = [web.get("/api/status", status), web.post("/api/record/{action}", record)]
        if self.sim is not None:
            routes += [web.post("/api/sim/scenario/{name}", scenario),
                       web.post("/api/sim/dropout/{value}", switch(self.sim_dropout)),
                       web.post("/api/sim/freeze/{value}", switch(self.sim_freeze)),
                       web.post("/api/sim/registration/{state}", registration)]
        wslink_server.app.router.add_routes(routes)

    def _sim_status(self) -> dict | None:
        if self.sim is None:
            return None
        return {"scenario": self.sim.script.scenario, "dropout": self.sim.tracker.dropout,
                "video_frozen": self.sim.video.frozen}

    # -- controls -------------------------------------------------------------------------------
    def toggle_recording(self) -> None:
        if self.navigator.recording_dir:
            self.navigator.stop_recording()
        else:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            self.sessions_dir.mkdir(parents=True, exist_ok=True)
            self.navigator.start_recording(self.sessions_dir / f"session-{stamp}")
        with self.server.state as state:
            state.recording = bool(self.navigator.recording_dir)
            state.recording_dir = self.navigator.recording_dir or ""

    def sim_scenario(self, name: str) -> None:
        """Simulator control: the scripted scope scenario."""
        if self.sim is None:
            raise InvalidInputError("simulator controls exist only with --sim")
        self.sim.script.set_scenario(name)
        with self.server.state as state:
            state.sim_scenario = name

    def sim_dropout(self, on: bool) -> None:
        """Simulator control: take the scope out of the tracker's view (or give it back)."""
        if self.sim is None:
            raise InvalidInputError("simulator controls exist only with --sim")
        self.sim.tracker.force_dropout(on)
        with self.server.state as state:
            state.sim_dropout = bool(on)

    def sim_freeze(self, on: bool) -> None:
        """Simulator control: the video repeats its last picture (or moves again)."""
        if self.sim is None:
            raise InvalidInputError("simulator controls exist only with --sim")
        self.sim.video.freeze(on)

    def sim_registration(self, state: str) -> None:
        """Simulator control: give the navigator a good, a poor, or no registration."""
        if self.sim is None:
            raise InvalidInputError("simulator controls exist only with --sim")
        from kambin.navigation.simulation import simulated_registration

        self.navigator.set_registration(simulated_registration(self.sim.tracker, state))

    # -- push loop ------------------------------------------------------------------------------
    def _on_ready(self, **_) -> None:
        asyncio.get_event_loop().create_task(self._push_loop())

    async def _push_loop(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                self.push()
            except Exception as error:  # keep pushing states even if one picture fails
                with self.server.state as state:
                    state.alarms = [f"monitor error: {type(error).__name__}: {error}"]
            await asyncio.sleep(max(0.0, TICK_S - (time.perf_counter() - started)))

    def push(self) -> None:
        """One tick: copy the navigator's state into the page's state (sent on exit of the block)."""
        now = time.monotonic()
        status = self.navigator.status(now)
        latest = self.navigator.latest()
        tool_drawn = bool(status["tool_drawn"])
        with self.server.state as state:
            if latest is not None and latest.index != self._last_index:
                self._last_index = latest.index
                state.video_src = jpeg_data_url(latest.overlay_rgb, VIDEO_MAX_WIDTH)
                state.video_index = latest.index
            state.tracking = status["tracking"]
            state.video_state = status["video"]
            registration = status["registration"]
            state.registration = registration["state"]
            state.registration_text = registration["state"] + (
                f" ({registration['error_mm']:.1f} mm)" if registration["error_mm"] is not None else "")
            state.alarms = status["alarms"]
            state.fps = status["fps"]
            p50, p99 = status["latency_ms"]["p50"], status["latency_ms"]["p99"]
            state.latency = "" if p50 is None else f"latency p50 {p50:.0f} ms, p99 {p99:.0f} ms"
            state.recording = bool(status["recording"])
            guidance = None if latest is None else latest.guidance
            if status["tracking"] == "lost":
                state.nav_state = "TRACKING LOST"
            elif guidance is not None:
                state.nav_state = {"no_registration": "NO REGISTRATION", "poor_registration": "POOR REGISTRATION",
                                   "tracking_lost": "TRACKING LOST"}.get(guidance.state, guidance.state)
            usable = guidance if guidance is not None and tool_drawn else None
            distances = {} if usable is None else usable.distances_mm
            state.g_target = _number(None if usable is None else usable.distance_to_target_mm, "mm")
            state.g_aim = _number(None if usable is None else usable.aim_off_target_deg, "°")
            state.g_depth = _number(None if usable is None else usable.depth_along_plan_mm, "mm")
            state.g_angle = _number(None if usable is None else usable.angle_off_plan_deg, "°")
            state.g_offplan = _number(None if usable is None else usable.off_plan_mm, "mm")
            state.g_root = _number(distances.get("exiting_root"), "mm")
            state.g_traversing = _number(distances.get("traversing_root"), "mm")
            state.g_sac = _number(distances.get("dural_sac"), "mm")
            state.g_bone = _number(distances.get("bone"), "mm")
            self._show_drawn_views(state, tool_drawn)
            # A change of tracking state goes out alone, at once; the pictures follow on a later tick.
            changed = status["tracking"] != self._last_tracking
            self._last_tracking = status["tracking"]
            if changed:
                return
            if not tool_drawn:
                if self._last_tool_drawn is not False:  # drawn once, at start: no redrawing to wait for
                    state.update(self._no_tool_urls)
                    state.tool_drawn = self._last_tool_drawn = False
            elif (not self._last_tool_drawn or now - self._last_views_s >= VIEWS_EVERY_S) \
                    and self._views_drawing is None:
                self._views_drawing = self._views_worker.submit(self._draw_views, latest.scope_to_ct)
                self._last_views_s, self._last_tool_drawn = now, True

    def _draw_views(self, pose: np.ndarray | None) -> dict[str, str]:
        """The 3D view and the slices for the scope's `pose` (None: no tool), as data URLs."""
        urls = {"view3d_src": jpeg_data_url(self.anatomy_view.image(pose))}
        for orientation, image in self.slice_views.images(pose).items():
            urls[f"slice_{orientation}"] = jpeg_data_url(image)
        return urls

    def _show_drawn_views(self, state, tool_drawn_now: bool) -> None:
        """Put the worker's finished pictures of the tool on the page, unless the tool is no longer drawn."""
        if self._views_drawing is None or not self._views_drawing.done():
            return
        drawing, self._views_drawing = self._views_drawing, None
        urls = drawing.result()  # an error here is shown by the push loop
        if tool_drawn_now:
            state.update(urls)
            state.tool_drawn = True

    # -- run ----------------------------------------------------------------------------------
    def run(self, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Serve until interrupted (blocking)."""
        self.server.start(host=host, port=port, open_browser=False, show_connection_info=False, timeout=0,
                          disable_logging=True)
