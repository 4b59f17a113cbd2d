"""`VideoFrame`: one image, stamped with `time.monotonic()` at acquisition (a frame without a
timestamp does not exist, DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.errors import InvalidInputError


@dataclass(frozen=True)
class VideoFrame:
    """Attributes:
    timestamp_s: acquisition time, `time.monotonic()` seconds (or the source's own clock).
    index: 0-based count of frames delivered by the source.
    image_rgb: (H, W, 3) uint8, RGB.
    """

    timestamp_s: float
    index: int
    image_rgb: np.ndarray

    def __post_init__(self) -> None:
        image = self.image_rgb
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InvalidInputError(f"a video frame must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        if not np.isfinite(self.timestamp_s):
            raise InvalidInputError("a video frame needs a finite acquisition timestamp")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image_rgb.shape[1]), int(self.image_rgb.shape[0])
