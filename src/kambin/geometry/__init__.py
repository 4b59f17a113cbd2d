"""Frames, rigid transforms, the transform graph, and the distance and intersection primitives.

Convention (DESIGN.md): a 4x4 float64 array named `a_to_b` maps homogeneous coordinates in frame
`a` to frame `b`; chains compose right to left, `a_to_c = b_to_c @ a_to_b`.
"""

from kambin.geometry.graph import DerivedTransform, TransformGraph
from kambin.geometry.primitives import (
    closest_points_segment_segment,
    cylinder_clearance_mm,
    first_mask_hit_along_segment,
    point_to_polyline_distance,
    point_to_segment_distance,
    points_in_cylinder,
    ray_mesh_intersections,
    segment_to_polyline_distance,
    segment_to_segment_distance,
    voxels_along_segment,
)
from kambin.geometry.transforms import (
    apply_transform,
    check_rigid,
    from_axis_angle,
    from_quaternion,
    from_rotation_translation,
    invert,
    is_rigid,
    to_axis_angle,
    to_quaternion,
)

__all__ = [
    "DerivedTransform",
    "TransformGraph",
    "apply_transform",
    "check_rigid",
    "closest_points_segment_segment",
    "cylinder_clearance_mm",
    "first_mask_hit_along_segment",
    "from_axis_angle",
    "from_quaternion",
    "from_rotation_translation",
    "invert",
    "is_rigid",
    "point_to_polyline_distance",
    "point_to_segment_distance",
    "points_in_cylinder",
    "ray_mesh_intersections",
    "segment_to_polyline_distance",
    "segment_to_segment_distance",
    "to_axis_angle",
    "to_quaternion",
    "voxels_along_segment",
]
