"""Tool definitions: what a tracked tool is, validated on construction (pydantic).

A tool has a name (its frame, lower-case: "pointer", "scope", "reference"), how the tracker
identifies it (an ArUco marker id or board, an NDI port or .rom file, an OpenIGTLink/PLUS
transform name), the tip offset in its own frame (from pivot calibration), and the frames it
defines relative to its marker (e.g. "pointer_tip", "camera").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.geometry.transforms import check_rigid

_FRAME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ArucoMarker(BaseModel):
    """A single square ArUco marker; its frame is centred on the marker, z out of the marker."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    marker_id: int = Field(ge=0)
    size_mm: float = Field(gt=0)
    dictionary: str = "DICT_4X4_50"


class ArucoGridBoard(BaseModel):
    """A grid of ArUco markers (cv2.aruco.GridBoard); its frame is the board's corner, z out."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    columns: int = Field(ge=1)
    rows: int = Field(ge=1)
    marker_mm: float = Field(gt=0)
    separation_mm: float = Field(gt=0)
    first_id: int = Field(default=0, ge=0)
    dictionary: str = "DICT_4X4_50"


class ToolDefinition(BaseModel):
    """One tracked tool.

    Exactly one way of identifying it must be given: `aruco` (a marker or grid board),
    `ndi_port` / `ndi_rom` (NDI Polaris/Aurora), or `stream_name` (the PLUS/OpenIGTLink name of
    its transform, e.g. "StylusToTracker").
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str
    aruco: ArucoMarker | ArucoGridBoard | None = None
    ndi_port: str | None = None
    ndi_rom: Path | None = None
    stream_name: str | None = None
    tip_in_tool_mm: tuple[float, float, float] | None = None
    frames: dict[str, list[list[float]]] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _FRAME_NAME.match(value):
            raise ValueError(f"tool name must be a lower-case frame name like 'pointer', not {value!r}")
        return value

    @field_validator("frames")
    @classmethod
    def _frames(cls, value: dict[str, list[list[float]]]) -> dict[str, list[list[float]]]:
        for frame, matrix in value.items():
            if not _FRAME_NAME.match(frame):
                raise ValueError(f"frame name must be lower-case like 'pointer_tip', not {frame!r}")
            try:
                check_rigid(np.asarray(matrix, dtype=np.float64), f"{frame}_to_tool")
            except InvalidInputError as error:
                raise ValueError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _one_identity(self) -> ToolDefinition:
        ways = [
            self.aruco is not None,
            self.ndi_port is not None or self.ndi_rom is not None,
            self.stream_name is not None,
        ]
        if sum(ways) != 1:
            raise ValueError(
                f"tool {self.name!r} needs exactly one of aruco, ndi_port/ndi_rom, stream_name; got {sum(ways)}"
            )
        return self

    def frame_to_tool(self, frame: str) -> np.ndarray:
        """4x4 `frame_to_tool` for a frame this tool defines; the tip frame comes from the tip offset."""
        if frame in self.frames:
            return np.asarray(self.frames[frame], dtype=np.float64)
        if frame == f"{self.name}_tip" and self.tip_in_tool_mm is not None:
            m = np.eye(4)
            m[:3, 3] = self.tip_in_tool_mm
            return m
        known = sorted(self.frames) + ([f"{self.name}_tip"] if self.tip_in_tool_mm is not None else [])
        raise InvalidInputError(
            f"tool {self.name!r} defines no frame {frame!r} (it defines: {', '.join(known) or 'none'})"
        )


def tool_from_dict(data: dict) -> ToolDefinition:
    """Validate a tool definition; a bad one raises InvalidInputError naming the field."""
    from pydantic import ValidationError

    try:
        return ToolDefinition.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "tool"
        raise InvalidInputError(f"invalid tool definition ({where}): {first['msg']}") from None


def load_tools(path: Path | str) -> list[ToolDefinition]:
    """Read a JSON list of tool definitions."""
    import json

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UnreadableFileError(f"tool file {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise UnreadableFileError(f"tool file {path} is not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, list):
        raise InvalidInputError(f"tool file {path} must hold a JSON list of tools, got {type(data).__name__}")
    tools = [tool_from_dict(item) for item in data]
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"tool names must be unique, got {names}")
    return tools
