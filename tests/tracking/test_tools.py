"""Tool definitions (pydantic): validation and derived frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking import ToolDefinition, load_tools, tool_from_dict


def test_valid_tools_and_tip_frame(tmp_path):
    pointer = tool_from_dict({"name": "pointer", "stream_name": "StylusToTracker", "tip_in_tool_mm": [0, 0, 150]})
    assert np.allclose(pointer.frame_to_tool("pointer_tip")[:3, 3], [0, 0, 150])
    scope = tool_from_dict(
        {"name": "scope", "aruco": {"marker_id": 3, "size_mm": 20}, "frames": {"camera": np.eye(4).tolist()}}
    )
    assert np.allclose(scope.frame_to_tool("camera"), np.eye(4))
    with pytest.raises(InvalidInputError, match="defines no frame"):
        scope.frame_to_tool("scope_tip")
    path = tmp_path / "tools.json"
    path.write_text(json.dumps([pointer.model_dump(mode="json"), scope.model_dump(mode="json")]))
    assert [t.name for t in load_tools(path)] == ["pointer", "scope"]
    assert "properties" in ToolDefinition.model_json_schema()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Pointer", "stream_name": "X"}, "lower-case"),
        ({"name": "pointer"}, "exactly one"),
        ({"name": "pointer", "stream_name": "X", "ndi_port": "0"}, "exactly one"),
        ({"name": "pointer", "aruco": {"marker_id": -1, "size_mm": 20}}, "greater than or equal"),
        (
            {
                "name": "pointer",
                "stream_name": "X",
                "frames": {"tip": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]},
            },
            "not a rigid",
        ),
        ({"name": "pointer", "stream_name": "X", "colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_tools_are_refused_with_the_field(data, message):
    with pytest.raises(InvalidInputError, match=message):
        tool_from_dict(data)


def test_tool_files(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        load_tools(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(UnreadableFileError, match="not valid JSON"):
        load_tools(bad)
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps([{"name": "a", "stream_name": "A"}, {"name": "a", "stream_name": "B"}]))
    with pytest.raises(InvalidInputError, match="unique"):
        load_tools(dup)
