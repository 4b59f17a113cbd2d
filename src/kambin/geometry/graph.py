"""A transform graph: every pose in one place, each edge with timestamp, status and error.

Follows the design of the PLUS transform repository and pytransform3d's `TransformManager`:
edges are stored once, in the direction they were measured, and any derivable `x_to_y` is
found by a breadth-first search and composed here, never multiplied by hand elsewhere.
The graph is a forest: an edge that would close a cycle is refused, because it is either
redundant (it agrees with the path already there) or contradictory (it does not), and in both
cases two sources of truth for one relation would have to be reconciled somewhere else.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import check_rigid, invert

STATUS_OK = "ok"
# Edge statuses, best first; a derived transform takes the worst status on its path.
STATUSES = ("ok", "estimated", "stale", "missing", "out_of_volume", "invalid")


@dataclass(frozen=True)
class Edge:
    """One measured or configured transform `source_to_target`."""

    source: str
    target: str
    source_to_target: np.ndarray
    timestamp_s: float
    status: str
    error_mm: float | None


@dataclass(frozen=True)
class DerivedTransform:
    """`x_to_y` composed along the graph, with the provenance that decides whether to trust it.

    `timestamp_s` is the oldest timestamp on the path (the age of the least fresh input),
    `status` the worst status, and `error_mm` the root-sum-square of the edges' errors when all
    are known (independent errors), else None.
    """

    matrix: np.ndarray
    path: tuple[str, ...]
    timestamp_s: float
    status: str
    error_mm: float | None

    @property
    def is_valid(self) -> bool:
        return self.status in ("ok", "estimated")


class TransformGraph:
    """Frames as nodes, rigid transforms as edges."""

    def __init__(self, redundancy_tolerance_mm: float = 1e-6):
        self._edges: dict[tuple[str, str], Edge] = {}
        self._neighbours: dict[str, set[str]] = {}
        self._tolerance_mm = redundancy_tolerance_mm

    @property
    def frames(self) -> tuple[str, ...]:
        return tuple(sorted(self._neighbours))

    def set(
        self,
        source: str,
        target: str,
        source_to_target: np.ndarray,
        timestamp_s: float,
        status: str = STATUS_OK,
        error_mm: float | None = None,
    ) -> None:
        """Add the edge `source_to_target`, or update it if this pair is already an edge.

        Raises InvalidInputError for a non-rigid matrix, an unknown status, a self-loop, or an
        edge between frames that are already connected through other edges.
        """
        if status not in STATUSES:
            raise InvalidInputError(f"status must be one of {STATUSES}, not {status!r}")
        if source == target:
            raise InvalidInputError(f"an edge needs two different frames, got {source!r} twice")
        if status in ("ok", "estimated"):
            matrix = check_rigid(source_to_target, f"{source}_to_{target}")
        else:
            # A missing pose may carry no usable matrix; keep the identity as a placeholder that
            # is never used because the derived status says it is not valid.
            matrix = np.eye(4)
        if (target, source) in self._edges:
            source, target = target, source
            matrix = invert(matrix)
        if (source, target) not in self._edges and self._connected(source, target):
            existing = self.get(source, target).matrix
            difference = float(np.abs(existing - matrix).max())
            kind = "redundant" if difference < self._tolerance_mm else "contradictory"
            raise InvalidInputError(
                f"{kind} edge {source}_to_{target}: the graph already derives it through other "
                f"frames (max difference {difference:.3g}); update an existing edge instead"
            )
        self._edges[(source, target)] = Edge(source, target, matrix, float(timestamp_s), status, error_mm)
        self._neighbours.setdefault(source, set()).add(target)
        self._neighbours.setdefault(target, set()).add(source)

    def mark(self, source: str, target: str, status: str, timestamp_s: float) -> None:
        """Change the status of an existing edge (a tool went out of view, a pose went stale)."""
        key = (source, target) if (source, target) in self._edges else (target, source)
        if key not in self._edges:
            raise InvalidInputError(f"no edge between {source!r} and {target!r}")
        if status not in STATUSES:
            raise InvalidInputError(f"status must be one of {STATUSES}, not {status!r}")
        old = self._edges[key]
        self._edges[key] = Edge(old.source, old.target, old.source_to_target, float(timestamp_s), status, old.error_mm)

    def has(self, source: str, target: str) -> bool:
        return self._connected(source, target)

    def get(self, source: str, target: str) -> DerivedTransform:
        """Return `source_to_target` composed along the unique path between the two frames."""
        path = self._path(source, target)
        if path is None:
            known = ", ".join(self.frames) or "none"
            raise InvalidInputError(
                f"no path from frame {source!r} to {target!r} (frames known: {known})"
            )
        source_to_current = np.eye(4)
        timestamps, statuses, errors = [], [], []
        for a, b in zip(path[:-1], path[1:], strict=True):
            if (a, b) in self._edges:
                edge = self._edges[(a, b)]
                a_to_b = edge.source_to_target
            else:
                edge = self._edges[(b, a)]
                a_to_b = invert(edge.source_to_target)
            source_to_current = a_to_b @ source_to_current
            timestamps.append(edge.timestamp_s)
            statuses.append(edge.status)
            errors.append(edge.error_mm)
        if len(path) == 1:
            return DerivedTransform(np.eye(4), path, float("inf"), STATUS_OK, 0.0)
        worst = max(statuses, key=STATUSES.index)
        error = None if any(e is None for e in errors) else float(np.sqrt(sum(e * e for e in errors)))
        return DerivedTransform(source_to_current, path, min(timestamps), worst, error)

    def _connected(self, source: str, target: str) -> bool:
        return self._path(source, target) is not None

    def _path(self, source: str, target: str) -> tuple[str, ...] | None:
        if source not in self._neighbours or target not in self._neighbours:
            return None
        previous: dict[str, str | None] = {source: None}
        queue = deque([source])
        while queue:
            frame = queue.popleft()
            if frame == target:
                path = [frame]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return tuple(reversed(path))
            for neighbour in sorted(self._neighbours[frame]):
                if neighbour not in previous:
                    previous[neighbour] = frame
                    queue.append(neighbour)
        return None
