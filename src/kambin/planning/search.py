"""The safest straight path to a target: branch-and-bound over trajectory angles.

The objective of a direction is its bottleneck margin: over every structure to avoid, the
smallest clearance between the cannula's surface and the structure, minus that structure's hard
limit (mm). A path is safe when the margin is >= 0 everywhere (every limit kept); the planner
maximises the margin of the corridor, so the chosen path is the one whose tightest structure is
least tight. The last `dock_mm` before the target (the docking zone) are checked against the
limits but left out of the objective: there every direction passes within a few tenths of a
millimetre of the same point, so the clearance is the target's, not the path's, and would make
all paths tie.

Guarantee. A point at depth t on the ray moves by at most t * angle when the direction turns by
that angle, and a distance field is 1-Lipschitz, so along any direction within angular radius r
of an evaluated one the distance at depth t is at most the evaluated distance there plus t * r.
The objective there is therefore bounded by the evaluated profile's min over t of
(distance(t) + t * r), minus the cannula radius and the limit: tight near the target, where
the clearances that matter are, and never looser than the global bound (value + D * r). The
search (Lipschitz branch-and-bound, Hansen & Jaumard, "Lipschitz optimization", in Handbook of
Global Optimization, 1995) splits the angle rectangle into cells, evaluates each cell's centre,
and discards a cell when that bound cannot beat the best path found; it stops splitting at the
requested angular resolution. Hence no direction in the search range has an objective better
than the returned one by more than D * resolution / 2 (plus the fields' own discretisation error),
except inside final cells whose centre failed a non-Lipschitz constraint (e.g. a bone-removal
limit), which the result counts. The clearance is evaluated over the whole ray to depth D, not
only to the skin, which can only under-estimate the clearance of the real, shorter path.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kambin.errors import InvalidInputError
from kambin.planning.fields import ClearanceField, FieldStack
from kambin.planning.trajectory import outward_direction


@dataclass(frozen=True)
class Obstacle:
    """A structure to keep clear of, with the hard limit (mm) between it and the cannula surface."""

    field: ClearanceField
    limit_mm: float


@dataclass(frozen=True)
class SearchSpace:
    """The angles searched (radians, see `trajectory`) and the resolution to resolve them to."""

    side: str
    axial_range: tuple[float, float]
    sagittal_range: tuple[float, float]
    resolution: float

    def __post_init__(self) -> None:
        for name, (low, high) in (("axial", self.axial_range), ("sagittal", self.sagittal_range)):
            if not low < high:
                raise InvalidInputError(f"{name} angle range must be increasing, got {np.degrees([low, high])} deg")
        if self.resolution <= 0:
            raise InvalidInputError(f"angular resolution must be positive, got {self.resolution}")


@dataclass(frozen=True)
class Candidate:
    """One evaluated direction."""

    axial_angle: float
    sagittal_angle: float
    outward_lps: np.ndarray
    objective_mm: float
    dock_margin_mm: float
    clearances_mm: dict[str, float]
    bottleneck: str
    profiles_mm: np.ndarray = field(repr=False, default=None)  # (obstacles, corridor depths) margins

    def bound_mm(self, radius: float, depths_mm: np.ndarray) -> float:
        """Upper bound of the objective over all directions within angular `radius` of this one."""
        return float((self.profiles_mm + depths_mm[None, :] * radius).min())


@dataclass
class SearchResult:
    best: Candidate | None
    alternatives: list[Candidate]
    evaluations: int
    guarantee_mm: float
    unresolved_cells: int
    closest: Candidate | None


class PathEvaluator:
    """Clearances of a cannula of given radius on rays from a target, over a fixed depth."""

    def __init__(
        self,
        target_lps_mm: np.ndarray,
        obstacles: list[Obstacle],
        cannula_radius_mm: float,
        depth_mm: float,
        step_mm: float = 0.5,
        dock_mm: float = 5.0,
        far_mm: float = 45.0,
        far_step_mm: float = 1.0,
        stack: FieldStack | None = None,
    ):
        """`stack`, if given, holds the obstacles' fields already stacked, in the same order."""
        if cannula_radius_mm <= 0:
            raise InvalidInputError(f"cannula radius must be positive, got {cannula_radius_mm} mm")
        if not obstacles:
            raise InvalidInputError("at least one structure to avoid is needed")
        self.target_lps_mm = np.asarray(target_lps_mm, dtype=np.float64)
        self.obstacles = obstacles
        if stack is not None:
            if stack.names != [o.field.name for o in obstacles]:
                raise InvalidInputError(f"the field stack holds {stack.names}, not the obstacles' fields")
            self._stack: FieldStack | None = stack
        else:
            try:
                self._stack = FieldStack([o.field for o in obstacles])
            except InvalidInputError:
                self._stack = None  # fields on different grids: sampled one by one
        self._limits = np.array([o.limit_mm for o in obstacles])[:, None]
        self.radius_mm = float(cannula_radius_mm)
        self.depth_mm = float(depth_mm)
        # Samples every `step_mm` near the target (where the fine fields are), every `far_step_mm`
        # beyond `far_mm`; the sampling error of a 1-Lipschitz field is half the larger step.
        self.dock_depths_mm = np.arange(0.0, dock_mm, step_mm)
        near = np.arange(len(self.dock_depths_mm) * step_mm, min(far_mm, depth_mm), step_mm)
        far = np.arange(max(far_mm, near[-1] + step_mm if len(near) else 0.0), depth_mm + far_step_mm / 2, far_step_mm)
        self.depths_mm = np.concatenate([near, far])
        self.step_mm = float(max(step_mm, far_step_mm))

    def evaluate(self, axial_angle: float, sagittal_angle: float, side: str) -> Candidate:
        return self.evaluate_many([(axial_angle, sagittal_angle)], side)[0]

    def evaluate_many(self, angles: list[tuple[float, float]], side: str) -> list[Candidate]:
        """Candidates for several (axial, sagittal) directions, their fields sampled in one pass (the
        per-call cost of sampling dominates a single direction's ~200 points)."""
        outward = np.array([outward_direction(a, s, side) for a, s in angles])
        depths = np.concatenate([self.dock_depths_mm, self.depths_mm])
        points = (self.target_lps_mm + depths[None, :, None] * outward[:, None, :]).reshape(-1, 3)
        if self._stack is not None:
            distances = self._stack.sample(points)
        else:
            distances = np.stack([o.field.sample(points) for o in self.obstacles])
        shape = (len(self.obstacles), len(angles), len(depths))
        all_profiles = (distances - self.radius_mm - self._limits).reshape(shape)
        docked = len(self.dock_depths_mm)
        margins = all_profiles.min(axis=2)
        corridor = all_profiles[:, :, docked:].min(axis=(0, 2))
        dock = all_profiles[:, :, :docked].min(axis=(0, 2)) if docked else np.full(len(angles), np.inf)
        worst = margins.argmin(axis=0)
        clearances = margins + self._limits
        names = [o.field.name for o in self.obstacles]
        return [
            Candidate(
                axial,
                sagittal,
                outward[m],
                float(corridor[m]),
                float(dock[m]),
                dict(zip(names, clearances[:, m].tolist(), strict=True)),
                names[worst[m]],
                all_profiles[:, m, docked:],
            )
            for m, (axial, sagittal) in enumerate(angles)
        ]

    @property
    def error_mm(self) -> float:
        """Discretisation error of one evaluation: fields' error plus half a sampling step."""
        return max(o.field.error_mm for o in self.obstacles) + self.step_mm / 2


def search(
    evaluator: PathEvaluator,
    space: SearchSpace,
    is_feasible: Callable[[Candidate], bool] = lambda candidate: True,
    initial_cells: int = 8,
    alternatives: int = 2,
    alternative_separation: float = np.radians(5.0),
    minimum_objective_mm: float = 0.0,
) -> SearchResult:
    """Maximise the corridor margin over the search space (module docstring: method, guarantee).

    Cells whose bound is below `minimum_objective_mm` (0: every hard limit kept) cannot hold a
    safe path and are discarded; `SearchResult.closest` is then the least unsafe direction seen,
    which names the structure that blocks the approach. Each alternative is the best safe path at
    least `alternative_separation` away from the paths chosen before it, found by the same search
    with those directions excluded, so it carries the same guarantee.
    """
    chosen: list[Candidate] = []
    evaluations = unresolved = 0
    closest = None
    for _ in range(1 + alternatives):

        def allowed(candidate: Candidate) -> bool:
            return (
                candidate.dock_margin_mm >= minimum_objective_mm
                and all(_angle(candidate, c) >= alternative_separation for c in chosen)
                and is_feasible(candidate)
            )

        found, count, failed, nearest = _branch_and_bound(
            evaluator, space, allowed, initial_cells, minimum_objective_mm
        )
        evaluations += count
        if not chosen:
            unresolved, closest = failed, nearest
        if found is None:
            break
        chosen.append(found)
    guarantee = evaluator.depth_mm * space.resolution / 2 + evaluator.error_mm
    best = chosen[0] if chosen else None
    return SearchResult(best, chosen[1:], evaluations, guarantee, unresolved, closest)


def _branch_and_bound(
    evaluator: PathEvaluator,
    space: SearchSpace,
    allowed: Callable[[Candidate], bool],
    initial_cells: int,
    minimum_objective_mm: float,
) -> tuple[Candidate | None, int, int, Candidate | None]:
    """One Lipschitz branch-and-bound run: (best allowed, evaluations, unresolved leaves, closest)."""
    (a0, a1), (s0, s1) = space.axial_range, space.sagittal_range
    heap: list[tuple[float, int, tuple[float, float, float, float], Candidate]] = []
    evaluations = 0
    closest: Candidate | None = None

    def push(cells: list[tuple[float, float, float, float]]) -> None:
        """Evaluate the cells' centres (in one pass) and queue those whose bound can hold a safe path."""
        nonlocal evaluations, closest
        centres = [((a_low + a_high) / 2, (s_low + s_high) / 2) for a_low, a_high, s_low, s_high in cells]
        for cell, candidate in zip(cells, evaluator.evaluate_many(centres, space.side), strict=True):
            evaluations += 1
            if closest is None or candidate.objective_mm > closest.objective_mm:
                closest = candidate
            a_low, a_high, s_low, s_high = cell
            radius = 0.5 * float(np.hypot(a_high - a_low, s_high - s_low))
            bound = candidate.bound_mm(radius, evaluator.depths_mm)
            if bound >= minimum_objective_mm:
                heapq.heappush(heap, (-bound, evaluations, cell, candidate))

    a_edges = np.linspace(a0, a1, initial_cells + 1)
    s_edges = np.linspace(s0, s1, initial_cells + 1)
    push(
        [
            (a_edges[i], a_edges[i + 1], s_edges[j], s_edges[j + 1])
            for i in range(initial_cells)
            for j in range(initial_cells)
        ]
    )
    best: Candidate | None = None
    unresolved = 0
    while heap:
        negative_bound, _, (a_low, a_high, s_low, s_high), candidate = heapq.heappop(heap)
        if best is not None and -negative_bound <= best.objective_mm:
            break  # no remaining cell can beat the best allowed path
        radius = 0.5 * float(np.hypot(a_high - a_low, s_high - s_low))
        if radius <= space.resolution / 2:
            if allowed(candidate):
                if best is None or candidate.objective_mm > best.objective_mm:
                    best = candidate
            else:
                unresolved += 1
            continue
        a_mid, s_mid = (a_low + a_high) / 2, (s_low + s_high) / 2
        push(
            [
                (a_low, a_mid, s_low, s_mid),
                (a_mid, a_high, s_low, s_mid),
                (a_low, a_mid, s_mid, s_high),
                (a_mid, a_high, s_mid, s_high),
            ]
        )
    return best, evaluations, unresolved, closest


def _angle(a: Candidate, b: Candidate) -> float:
    return float(np.arccos(np.clip(a.outward_lps @ b.outward_lps, -1.0, 1.0)))
