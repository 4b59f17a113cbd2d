"""The overlay lands where the camera model says: the target ring on the target's projected pixel,
and the exiting root's outline on the root as the renderer draws it (same camera, same pose)."""

import cv2
import numpy as np

from kambin.anatomy.labels import label_id, nerve_root_name
from kambin.navigation import simulation as sim
from kambin.navigation.overlay import COLOURS
from kambin.render.endoscope import EndoscopeCamera, project_points, scope_pose
from kambin.render.scene import EndoscopeRenderer

SIZE = (640, 360)


def test_overlay_is_registered_with_the_camera_model(case):
    camera = EndoscopeCamera.create(*SIZE)
    overlay = sim.overlay_for(case, camera.intrinsics, camera.camera_to_scope)
    model = sim.guidance_model(case)
    axis = (case.target - case.entry) / np.linalg.norm(case.target - case.entry)
    # 12 mm before the target on the plan, looking along it, then toward the root's warning point.
    checked = 0
    for tip in (case.target - 12.0 * axis, sim.ScopeScript(case).warn_point - 8.0 * axis):
        pose = scope_pose(tip, axis)
        guidance = model.update(0.0, tip, axis)
        drawn = overlay.draw(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), pose, guidance)
        uv, in_front = project_points(case.target[None], camera.camera_to_ct(pose), camera.intrinsics)
        ring = np.argwhere(np.all(drawn == COLOURS["target"], axis=2))
        if in_front[0] and np.hypot(*(uv[0] - [camera.intrinsics.cx, camera.intrinsics.cy])) < 150:
            assert len(ring) > 20
            np.testing.assert_allclose(ring.mean(axis=0)[::-1], uv[0], atol=2.0)
            checked += 1
    assert checked >= 1

    # The root's outline lies on the root's silhouette as the renderer draws it (the root alone, as
    # the overlay shows it through bone; the overlay's 60 mm reach): straight optics 25 mm from the
    # root's ganglion, looking at it from the entry's side.
    straight = EndoscopeCamera.create(*SIZE, optics_angle_deg=0.0, far_mm=60.0)
    overlay = sim.overlay_for(case, straight.intrinsics, straight.camera_to_scope)
    toward = case.exiting_root_lps_mm - case.entry
    toward /= np.linalg.norm(toward)
    tip = case.exiting_root_lps_mm - 25.0 * toward
    pose = scope_pose(tip, toward)
    root_name = nerve_root_name("L4", "left")
    root_mesh = [m for m in sim.endoscope_meshes_near_target(case) if m.name == root_name]
    with EndoscopeRenderer(root_mesh, straight) as renderer:
        labels = renderer.render(pose, with_labels=True).label_ids
    root = (labels == label_id(root_name)).astype(np.uint8)
    assert root.sum() > 500  # the root is in view
    distance = cv2.distanceTransform((1 - root).astype(np.uint8), cv2.DIST_L2, 5)

    def outline_to_root_px(overlay_pose: np.ndarray) -> float:
        """Mean distance (px) from the drawn root outline to the rendered root."""
        drawn = overlay.draw(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), overlay_pose, model.update(0.0, tip, toward))
        outline = np.all(drawn == COLOURS["exiting_root"], axis=2)
        assert outline.sum() > 50
        return float(distance[outline].mean())

    registered = outline_to_root_px(pose)
    # The same overlay drawn from a pose 2 mm off sideways, as a miscalibration would: clearly worse.
    across = np.cross(toward, (0.0, 0.0, 1.0))
    shifted = outline_to_root_px(scope_pose(tip + 2.0 * across / np.linalg.norm(across), toward))
    print(f"root {int(root.sum())} px; outline to rendered root: {registered:.1f} px registered, "
          f"{shifted:.1f} px 2 mm off")
    assert registered < 2.5 and shifted > 2 * registered
