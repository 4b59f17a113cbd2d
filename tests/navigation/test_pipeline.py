"""The navigation pipeline on the simulated operating room: wiring checks, states that hide nothing,
a recorded session replayed to the same guidance numbers, and the PLUS and MP4 exports."""

import cv2
import numpy as np
import pytest

from kambin.errors import InvalidInputError
from kambin.navigation import simulation as sim
from kambin.navigation.pipeline import (
    ComputeGuidance,
    Pipeline,
    Synchronise,
    UpdateTransforms,
    compose_navigation,
    guidance_fields,
)
from kambin.navigation.recording import SessionWriter
from kambin.navigation.replay import export_mp4, export_plus, registration_record, replay, replay_session
from kambin.registration.registration_file import Registration
from kambin.render.endoscope import EndoscopeCamera
from kambin.tracking.plus import read_plus_sequence
from kambin.video.frame import VideoFrame

SIZE = (320, 180)


def compose(case, registration, record=True):
    camera = EndoscopeCamera.create(*SIZE)
    overlay = sim.overlay_for(case, camera.intrinsics, camera.camera_to_scope)
    return compose_navigation(sim.guidance_model(case), overlay, registration, record=record)


def run_live(case, writer=None, frames=240):
    """A simulated-clock run: tracker at 60 Hz, a video frame every second tracker frame; toward the
    root at frame 80, the scope out of view over frames 160-190."""
    script = sim.ScopeScript(case)
    tracker = sim.OperatingRoomTracker(script, sim.reference_position(case), realtime=False, seed=1)
    pipeline = compose(case, tracker.registration())
    pipeline.operators[-1].writer = writer
    tracker.start()
    results, tracker_frames = [], []
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    for n in range(frames):
        if n == 80:
            script.set_scenario("toward_root", tracker_frames[-1].timestamp_s)
        tracker.force_dropout(160 <= n < 190)
        tracker_frames = [tracker.get_frame(), tracker.get_frame()]
        image[:] = n % 200
        video = VideoFrame(tracker_frames[-1].timestamp_s + 0.004, n, image.copy())
        values = pipeline.step(video_frame=video, tracking_frames=tracker_frames)
        results.append(values["guidance"])
    return results, tracker


def test_wiring_is_checked():
    with pytest.raises(InvalidInputError, match="reads .*no source or earlier operator"):
        Pipeline([UpdateTransforms(Registration(None))])
    with pytest.raises(InvalidInputError, match="needs"):
        Pipeline([Synchronise()]).step(video_frame=None)


def test_live_states_and_alarms(case):
    results, _ = run_live(case)
    states = [g.state for g in results]
    assert set(states[10:80]) == {"ok"}  # along the plan
    assert "warn" in states[80:160]  # toward the root
    assert any("exiting root" in a for g in results[80:160] for a in g.alarms)
    lost = results[162:190]
    assert all(g.state == "tracking_lost" and not g.drawable and g.tip_lps_mm is None for g in lost)
    assert results[-1].drawable  # back in view


def test_no_registration_and_stale_pose_are_shown(case):
    script = sim.ScopeScript(case)
    tracker = sim.OperatingRoomTracker(script, sim.reference_position(case), realtime=False)
    pipeline = compose(case, Registration(None), record=False)
    tracker.start()
    frame = tracker.get_frame()
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    values = pipeline.step(video_frame=VideoFrame(frame.timestamp_s, 0, image), tracking_frames=[frame])
    assert values["guidance"].state == "no_registration" and values["scope_to_ct"] is None
    assert (values["overlay_rgb"][:10, :, 0] > 150).all()  # the red banner
    pipeline.operator(UpdateTransforms).set_registration(tracker.registration())
    later = VideoFrame(frame.timestamp_s + 0.5, 1, image)  # the newest pose is 0.5 s old: stale
    values = pipeline.step(video_frame=later, tracking_frames=[])
    assert values["pose_status"] == "stale" and values["guidance"].state == "tracking_lost"
    poor = Registration(tracker.registration().ct_to_reference, 5.0)
    pipeline.operator(UpdateTransforms).set_registration(poor)
    values = pipeline.step(video_frame=VideoFrame(frame.timestamp_s + 0.51, 2, image),
                           tracking_frames=[tracker.get_frame()])
    assert values["guidance"].state == "poor_registration"
    assert pipeline.operator(ComputeGuidance).model is not None


def test_replay_gives_the_live_numbers_and_exports(case, tmp_path):
    registration = sim.OperatingRoomTracker(sim.ScopeScript(case), sim.reference_position(case)).registration()
    with SessionWriter(tmp_path / "s", metadata={"registration": registration_record(registration)}) as writer:
        live, _ = run_live(case, writer)
    replayed = list(replay(tmp_path / "s", compose(case, Registration(None), record=False)))
    assert len(replayed) == len(live)
    for (values, recorded), guidance in zip(replayed, live, strict=True):
        assert guidance_fields(values["guidance"]) == guidance_fields(guidance)
        assert recorded == guidance_fields(guidance)
    summary = replay_session(tmp_path / "s", pipeline=compose(case, Registration(None), record=False))
    assert summary.frames == len(live) and summary.matched_recorded == summary.recorded == len(live)
    assert summary.alarms["tracking lost (missing)"]["raised"] == 1
    assert 28 <= summary.alarms["tracking lost (missing)"]["frames"] <= 30  # the dropout, frames 160-190
    assert summary.alarms["warning: exiting root"]["raised"] >= 1  # toward the root from frame 80
    assert summary.min_distance_mm["exiting_root"] == min(g.distances_mm["exiting_root"] for g in live if g.drawable)
    assert summary.min_distance_mm["exiting_root"] <= 3.0 and summary.cut_by_crash == 0
    plus = read_plus_sequence(export_plus(tmp_path / "s", tmp_path / "tracking.igs.mha"))
    assert len(plus.frames) == 2 * len(live)
    count = export_mp4(tmp_path / "s", compose(case, Registration(None), record=False), tmp_path / "overlay.mp4")
    capture = cv2.VideoCapture(str(tmp_path / "overlay.mp4"))
    assert count == len(live) and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(live)
    ok, first = capture.read()
    capture.release()
    assert ok and first.shape == (SIZE[1], SIZE[0], 3)


def test_plan_files(case, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(case.plan.model_dump_json())
    assert sim.load_plan(path) == case.plan
    infeasible = case.plan.model_copy(update={"feasible": False, "entry_lps_mm": None})
    path.write_text(infeasible.model_dump_json())
    with pytest.raises(InvalidInputError, match="not feasible"):
        sim.load_plan(path)


def test_replay_checks_what_its_outputs_need_before_writing_any(case, tmp_path):
    with SessionWriter(tmp_path / "s") as writer:  # video, but no tracking frame
        for n in range(3):
            writer.write(100.0 + n / 30, "video", image_rgb=np.zeros((SIZE[1], SIZE[0], 3), np.uint8), index=n)
    pipeline = compose(case, Registration(None), record=False)
    with pytest.raises(InvalidInputError, match="no tracking frames to export"):
        replay_session(tmp_path / "s", mp4=tmp_path / "a.mp4", plus=tmp_path / "a.igs.mha", pipeline=pipeline)
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "a.igs.mha").exists()
    summary = replay_session(tmp_path / "s", mp4=tmp_path / "a.mp4", pipeline=pipeline)
    assert summary.frames == 3 and summary.states == {"no_registration": 3} and summary.cut_by_crash == 3
    assert (tmp_path / "a.mp4").stat().st_size > 0
