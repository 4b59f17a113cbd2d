"""The planning scene of one level and side: the structures to avoid, as clearance fields, built
from a CT and a label map with registry names (ours, TotalSegmentator's or the phantom's truth).

Hard limits are the smallest clearance (mm) between the cannula surface and each structure that
a plan may keep. Transforaminal: 1 mm to the exiting and traversing roots and the dural sac (the
corridor of Kambin's triangle is 5 to 10 mm wide, Hoshide et al., Spine 2016; a 7 mm cannula
leaves little more), no bone crossed except the superior articular process (SAP) of the lower
vertebra, whose removal is reported as foraminoplasty (Schubert & Hoogland 2005), 10 mm to the
peritoneal cavity, bowel and kidney (the retroperitoneal corridor: an entry too lateral is the
cause of the bowel injuries reported by Ahn 2003 and Yeung & Tsou 2002), 5 mm to the great
vessels. Interlaminar: the working cannula's bevel retracts the traversing root medially in that
technique (Ruetten et al., Spine 2008), modelled as up to 3 mm of displacement (limit -3 mm); the
dural sac keeps its 1 mm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from kambin.anatomy.body import body_mask
from kambin.anatomy.labels import label_by_id, nerve_root_name
from kambin.errors import InvalidInputError
from kambin.imaging.resample import resample_like
from kambin.imaging.volume import Volume
from kambin.planning.fields import ClearanceField, FieldLevel, FieldStack, signed_distance_mm

RISKS = {
    "exiting_root": "nerve injury to the exiting root (dysaesthesia, weakness)",
    "traversing_root": "nerve injury to the traversing root",
    "dural_sac": "dural tear and spinal fluid leak, cauda equina injury",
    "other_roots": "nerve injury to a root of another level",
    "bone": "path blocked by bone (vertebra other than the removable SAP)",
    "iliac_crest": "path blocked by the iliac crest (pelvis)",
    "sap": "superior articular process in the path: foraminoplasty (bone removal) needed",
    "bowel": "bowel injury (peritoneal cavity, colon, small bowel)",
    "kidney": "kidney injury and bleeding",
    "vessels": "injury to the aorta, vena cava or iliac vessels and bleeding",
}
_TRANSFORAMINAL_LIMITS_MM = {
    "exiting_root": 1.0,
    "traversing_root": 1.0,
    "dural_sac": 1.0,
    "other_roots": 1.0,
    "bone": 0.0,
    "sap": 0.0,
    "iliac_crest": 0.0,
    "bowel": 10.0,
    "kidney": 10.0,
    "vessels": 5.0,
}
LIMITS_MM = {
    "transforaminal": _TRANSFORAMINAL_LIMITS_MM,
    # The same, but the traversing root may be retracted by up to 3 mm (see the module docstring).
    "interlaminar": {**_TRANSFORAMINAL_LIMITS_MM, "traversing_root": -3.0},
}
FINE_HALF_EXTENT_MM = 45.0
FINE_SPACING_MM = 1.0
COARSE_SPACING_MM = 2.0


@dataclass(frozen=True)
class LevelGeometry:
    """Where the level is: disc centre and normal (cranial), posterior direction in the disc
    plane, the disc's posterior margin, and the midline x (LPS mm)."""

    upper: str
    lower: str
    disc_centre_lps_mm: np.ndarray
    disc_normal_lps: np.ndarray
    posterior_lps: np.ndarray
    posterior_margin_mm: float
    half_width_mm: float
    midline_x_mm: float
    disc_from_label: bool


@dataclass
class PlanningScene:
    level: LevelGeometry
    side: str
    fields: dict[str, ClearanceField]
    sap_points_lps_mm: np.ndarray  # centres of removable SAP voxels (fine grid)
    sap_voxel_mm3: float
    body_field: ClearanceField | None  # signed distance to the body surface (skin); None if not in view
    fov: Volume  # the CT grid, to tell when a path leaves the field of view
    docking_points_lps_mm: np.ndarray  # disc and herniation voxel centres (fine grid): where a tip may sit
    stack: FieldStack  # every field of `fields`, in its order, stacked for sampling together
    # Per estimated group (structures not seen in the CT, only estimated): the field of the estimate
    # itself, while `fields` holds its envelope (the estimate widened by its local uncertainty, see
    # `envelope_mask`), so keeping the hard limits to `fields` keeps them to the truth.
    nominal_fields: dict[str, ClearanceField]
    # Per estimated group: the largest uncertainty (mm) of its members, for the notes.
    uncertainty_mm: dict[str, float]

    def limits(self, approach: str) -> dict[str, float]:
        """Hard limits of `approach` (LIMITS_MM); the estimates' uncertainty is in their envelopes."""
        return dict(LIMITS_MM[approach])

    def nominal(self) -> PlanningScene:
        """The same scene with the estimated structures exactly where estimated (no envelope)."""
        if not self.nominal_fields:
            return self
        fields = {name: self.nominal_fields.get(name, field) for name, field in self.fields.items()}
        return replace(
            self, fields=fields, stack=FieldStack(list(fields.values())), nominal_fields={}, uncertainty_mm={}
        )


def split_level(level: str) -> tuple[str, str]:
    upper, _, lower = level.partition("-")
    return upper, lower


def label_ids(labels: Volume, names: dict[str, str] | None) -> dict[str, int]:
    voxels = np.asarray(labels.voxels)
    if voxels.dtype.kind != "u":
        voxels = voxels.astype(np.int64)
    present = [int(i) for i in np.flatnonzero(np.bincount(voxels.ravel())) if i != 0]
    if names is None:
        return {label_by_id(i).name: i for i in present}
    return {name: int(i) for i, name in names.items() if int(i) in present}


def level_geometry(labels: Volume, ids: dict[str, int], level: str) -> LevelGeometry:
    """Disc plane and midline of a level from its disc label, or from the two vertebrae."""
    upper, lower = split_level(level)
    upper_name, lower_name = f"vertebrae_{upper}", f"vertebrae_{lower}"
    if lower == "S1" and lower_name not in ids and "sacrum" in ids:
        lower_name = "sacrum"
    missing = [n for n in (upper_name, lower_name) if n not in ids]
    if missing:
        unnamed = sorted(n for n in ids if n.startswith("vertebra_"))
        why = (
            f"; its vertebrae are unnamed ({', '.join(unnamed)}): name them with kambin segment --lowest, --highest "
            "or --level-at"
            if unnamed
            else ""
        )
        raise InvalidInputError(
            f"level {level} is not in the label map ({', '.join(missing)} missing); "
            f"levels present: {', '.join(levels_present(ids)) or 'none'}{why}"
        )
    disc_name = f"disc_{upper}_{lower}"
    if disc_name in ids:
        points = labels.ijk_to_lps(np.argwhere(labels.voxels == ids[disc_name]).astype(float))
        centre = points.mean(axis=0)
        _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
        normal = vt[2] * np.sign(vt[2][2] or 1.0)
        from_label = True
    else:
        # No disc label (bone-only segmentations): the plane halfway between the two vertebrae.
        a = labels.ijk_to_lps(np.argwhere(labels.voxels == ids[upper_name]).astype(float))
        b = labels.ijk_to_lps(np.argwhere(labels.voxels == ids[lower_name]).astype(float))
        normal = a.mean(axis=0) - b.mean(axis=0)
        normal /= np.linalg.norm(normal)
        lowest_of_upper = np.percentile((a - a.mean(axis=0)) @ normal, 2) + a.mean(axis=0) @ normal
        highest_of_lower = np.percentile((b - b.mean(axis=0)) @ normal, 98) + b.mean(axis=0) @ normal
        body = np.vstack([a, b])
        centre_xy = body[np.abs((body - body.mean(axis=0)) @ normal) < 15].mean(axis=0)
        centre = centre_xy + normal * ((lowest_of_upper + highest_of_lower) / 2 - centre_xy @ normal)
        points = body[np.abs((body - centre) @ normal) < 6]
        from_label = False
    posterior = np.array([0.0, 1.0, 0.0]) - normal[1] * normal
    posterior /= np.linalg.norm(posterior)
    lateral = np.cross(normal, posterior)
    near = points[np.abs((points - centre) @ normal) < 4]
    offsets = (near - centre) @ posterior
    central = near[np.abs((near - centre) @ lateral) < 8]
    margin = float(np.percentile((central - centre) @ posterior, 98)) if len(central) else float(offsets.max())
    half_width = float(np.percentile(np.abs((near - centre) @ lateral), 98))
    return LevelGeometry(upper, lower, centre, normal, posterior, margin, half_width, float(centre[0]), from_label)


def levels_present(ids: dict[str, int]) -> list[str]:
    from kambin.planning.models import LEVELS

    out = []
    for level in LEVELS:
        upper, lower = split_level(level)
        lower_ok = f"vertebrae_{lower}" in ids or (lower == "S1" and "sacrum" in ids)
        if f"vertebrae_{upper}" in ids and lower_ok:
            out.append(level)
    return out


def _grid(centre: np.ndarray, low: np.ndarray, high: np.ndarray, spacing: float) -> Volume:
    size = np.ceil((high - low) / spacing).astype(int) + 1
    return Volume.from_geometry(np.zeros(tuple(size), dtype=np.uint8), (spacing,) * 3, tuple(low))


def build_scene(
    ct: Volume,
    labels: Volume,
    level: str,
    side: str,
    target_lps_mm: np.ndarray,
    approach_extent_mm: float,
    names: dict[str, str] | None = None,
    ids: dict[str, int] | None = None,
    geometry: LevelGeometry | None = None,
    uncertainty: Volume | None = None,
) -> PlanningScene:
    """Clearance fields around `target_lps_mm`: fine within 45 mm, coarse to `approach_extent_mm`.

    `ids` (`label_ids(labels, names)`) and `geometry` (`level_geometry`) are computed when not given.
    `uncertainty` (mm per voxel, on the CT's grid) marks the voxels of structures that are estimates
    (nerve roots and dural sac where the CT does not show them, discs, the peritoneal boundary): how
    far the true structure may reach beyond them. Those groups' fields are their envelopes.
    """
    if uncertainty is not None and not uncertainty.same_grid(ct):
        raise InvalidInputError("the uncertainty map is not on the CT's grid; resample it onto the CT first")
    if not labels.same_grid(ct):
        raise InvalidInputError("the label map is not on the CT's grid; resample it onto the CT first")
    ids = label_ids(labels, names) if ids is None else ids
    geometry = level_geometry(labels, ids, level) if geometry is None else geometry
    target = np.asarray(target_lps_mm, dtype=np.float64)
    groups = _groups(ids, geometry, side)
    fine_grid = _grid(target, target - FINE_HALF_EXTENT_MM, target + FINE_HALF_EXTENT_MM, FINE_SPACING_MM)
    # The coarse region: where paths from the target can go, on the planned side and posterior to the
    # target (both approaches enter from behind), clipped to the CT.
    reach = approach_extent_mm
    sign = 1.0 if side == "left" else -1.0
    toward = np.array([sign * reach, reach, reach])
    away = np.array([-sign * 40.0, -40.0, -reach])
    ct_low, ct_high = ct.extent_lps_mm()
    coarse_low = np.maximum(target + np.minimum(toward, away), ct_low - 2 * COARSE_SPACING_MM)
    coarse_high = np.minimum(target + np.maximum(toward, away), ct_high + 2 * COARSE_SPACING_MM)
    coarse_grid = _grid(target, coarse_low, coarse_high, COARSE_SPACING_MM)
    region = _crop(labels, coarse_low - COARSE_SPACING_MM, coarse_high + COARSE_SPACING_MM)
    fine_labels = resample_like(region, fine_grid, "nearest").voxels
    coarse_labels = resample_like(region, coarse_grid, "nearest").voxels
    fine_u = coarse_u = None
    if uncertainty is not None:
        u_region = _crop(uncertainty, coarse_low - COARSE_SPACING_MM, coarse_high + COARSE_SPACING_MM)
        fine_u = resample_like(u_region, fine_grid, "nearest").voxels
        coarse_u = resample_like(u_region, coarse_grid, "nearest").voxels
    sap_fine = _sap_mask(fine_grid, fine_labels, ids, geometry, side)
    sap_coarse = resample_like(fine_grid.with_voxels(sap_fine.astype(np.uint8)), coarse_grid, "nearest").voxels > 0
    fields, nominal_fields, group_uncertainty = {}, {}, {}
    for group, members in groups.items():
        fine = np.isin(fine_labels, members)
        coarse = np.isin(coarse_labels, members)
        if group == "bone":
            fine &= ~sap_fine
            coarse &= ~sap_coarse
        if not fine.any() and not coarse.any():
            continue
        fields[group] = ClearanceField.from_mask(group, fine_grid.with_voxels(fine), coarse_grid.with_voxels(coarse))
        if fine_u is None:
            continue
        u_max = max(float(fine_u[fine].max(initial=0.0)), float(coarse_u[coarse].max(initial=0.0)))
        if u_max > 0:
            nominal_fields[group] = fields[group]
            group_uncertainty[group] = u_max
            fields[group] = _envelope_field(fields[group], fine_grid.with_voxels(fine), fine_u, u_max)
    if sap_fine.any():
        fields["sap"] = ClearanceField.from_mask(
            "sap", fine_grid.with_voxels(sap_fine), coarse_grid.with_voxels(sap_coarse)
        )
    if "exiting_root" not in fields or "dural_sac" not in fields:
        absent = [g for g in ("exiting_root", "dural_sac") if g not in fields]
        raise InvalidInputError(
            f"the label map has no {' or '.join(absent)} near the target; add nerve-root and dural-sac "
            "labels (kambin segment estimates them) before planning"
        )
    body = body_mask(
        resample_like(
            _crop(ct, coarse_low - COARSE_SPACING_MM, coarse_high + COARSE_SPACING_MM),
            coarse_grid,
            "linear",
            fill_value=-1024.0,
        )
    )
    body_field = ClearanceField.from_mask("body", coarse_grid.with_voxels(body)) if body.any() else None
    hernia_id = ids.get("disc_herniation")
    # Where a tip may dock: the disc's surface (the annulus; the working cannula does not enter the
    # disc) and any herniated fragment.
    disc_name = f"disc_{geometry.upper}_{geometry.lower}"
    disc = fine_labels == ids[disc_name] if disc_name in ids else np.zeros(fine_labels.shape, bool)
    surface = disc & ~ndimage.binary_erosion(disc)
    if hernia_id is not None:
        surface |= fine_labels == hernia_id
    docking = fine_grid.ijk_to_lps(np.argwhere(surface).astype(float))
    sap_points = fine_grid.ijk_to_lps(np.argwhere(sap_fine).astype(float))
    return PlanningScene(
        geometry,
        side,
        fields,
        sap_points,
        FINE_SPACING_MM**3,
        body_field,
        ct,
        docking,
        FieldStack(list(fields.values())),
        nominal_fields,
        group_uncertainty,
    )


UNCERTAINTY_STEP_MM = 0.5


def _envelope_field(nominal: ClearanceField, fine: Volume, fine_u: np.ndarray, u_max: float) -> ClearanceField:
    """The field of an estimated structure's envelope (`envelope_mask`): exact on the fine grid; on
    the coarse grid, away from the target, the nominal field less the largest uncertainty, never more
    than the exact value. Where the uncertainty is the same everywhere, the exact field is that shift."""
    members = np.asarray(fine.voxels, dtype=bool)
    u = fine_u[members]
    if not members.any() or u.min() == u.max() == u_max:
        fine_mm = nominal.levels[0].distance_mm - np.float32(u_max)
    else:
        fine_mm = signed_distance_mm(fine.with_voxels(envelope_mask(members, fine_u, fine.spacing_mm)))
    first, *rest = nominal.levels
    levels = [FieldLevel(fine_mm, first.voxel_to_lps, first.error_mm)]
    levels += [FieldLevel(level.distance_mm - np.float32(u_max), level.voxel_to_lps, level.error_mm) for level in rest]
    return ClearanceField(nominal.name, tuple(levels))


def envelope_mask(members: np.ndarray, uncertainty_mm: np.ndarray, spacing_mm: np.ndarray) -> np.ndarray:
    """Where a structure may be: every voxel within its own uncertainty of a member voxel (the union
    of balls of radius u(y) about each member y). The signed distance to it is then
    min over y of (|x - y| - u(y)): the distance to the structure with each part's error taken off.

    Uncertainties are rounded up to `UNCERTAINTY_STEP_MM`; each step's members are dilated by an
    exact Euclidean distance transform over their own bounding box.
    """
    out = members.copy()
    u = np.where(members, np.ceil(uncertainty_mm / UNCERTAINTY_STEP_MM) * UNCERTAINTY_STEP_MM, 0.0)
    spacing = np.asarray(spacing_mm, dtype=float)
    for level in np.unique(u[members & (u > 0)]):
        part = members & (u == level)
        ijk = np.argwhere(part)
        reach = np.ceil(level / spacing).astype(int) + 1
        lo = np.maximum(ijk.min(axis=0) - reach, 0)
        hi = np.minimum(ijk.max(axis=0) + reach + 1, members.shape)
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        out[box] |= ndimage.distance_transform_edt(~part[box], sampling=spacing) <= level
    return out


def _crop(volume: Volume, low_lps_mm: np.ndarray, high_lps_mm: np.ndarray) -> Volume:
    """The part of a volume (a view, no copy) whose voxels cover an LPS box, on the same grid."""
    corners = np.array(
        [
            [x, y, z]
            for x in (low_lps_mm[0], high_lps_mm[0])
            for y in (low_lps_mm[1], high_lps_mm[1])
            for z in (low_lps_mm[2], high_lps_mm[2])
        ]
    )
    ijk = volume.lps_to_ijk(corners)
    start = np.clip(np.floor(ijk.min(axis=0)).astype(int) - 1, 0, np.asarray(volume.shape_ijk) - 1)
    stop = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 2, start + 1, np.asarray(volume.shape_ijk))
    voxels = volume.voxels[start[0] : stop[0], start[1] : stop[1], start[2] : stop[2]]
    voxel_to_lps = volume.voxel_to_lps.copy()
    voxel_to_lps[:3, 3] = volume.ijk_to_lps(start.astype(float))
    return Volume(voxels, voxel_to_lps, volume.modality, volume.source)


def _groups(ids: dict[str, int], geometry: LevelGeometry, side: str) -> dict[str, list[int]]:
    exiting = nerve_root_name(geometry.upper, side)
    traversing = nerve_root_name(geometry.lower, side)
    groups: dict[str, list[int]] = {g: [] for g in RISKS}
    for name, i in ids.items():
        if name == exiting:
            groups["exiting_root"].append(i)
        elif name == traversing:
            groups["traversing_root"].append(i)
        elif name.startswith("nerve_root_"):
            groups["other_roots"].append(i)
        elif name in ("dural_sac", "cauda_equina", "spinal_cord"):
            groups["dural_sac"].append(i)
        elif name.startswith(("vertebrae_", "rib_")) or name in ("sacrum", "facet_hypertrophy", "metal"):
            groups["bone"].append(i)  # metal (screws, rods) blocks a path as bone does, and is never removed
        elif name.startswith("hip_"):
            groups["iliac_crest"].append(i)
        elif name in ("peritoneal_cavity", "colon", "small_bowel", "duodenum"):
            groups["bowel"].append(i)
        elif name.startswith("kidney_"):
            groups["kidney"].append(i)
        elif (
            name in ("aorta", "inferior_vena_cava") or name.startswith("iliac_artery") or name.startswith("iliac_vena")
        ):
            groups["vessels"].append(i)
    return {g: members for g, members in groups.items() if members}


def _sap_mask(
    grid: Volume, grid_labels: np.ndarray, ids: dict[str, int], geometry: LevelGeometry, side: str
) -> np.ndarray:
    """Removable bone: the lower vertebra's bone cranial to its superior endplate (2 mm below the
    disc plane), dorsal to the disc, on the planned side: its superior articular process."""
    lower_name = f"vertebrae_{geometry.lower}"
    if lower_name not in ids and geometry.lower == "S1":
        lower_name = "sacrum"
    lower_ids = [ids[lower_name]] + ([ids["facet_hypertrophy"]] if "facet_hypertrophy" in ids else [])
    mask = np.isin(grid_labels, lower_ids)
    ijk = np.argwhere(mask)
    if len(ijk) == 0:
        return mask
    points = grid.ijk_to_lps(ijk.astype(float)) - geometry.disc_centre_lps_mm
    sign = 1.0 if side == "left" else -1.0
    keep = (
        (points @ geometry.disc_normal_lps > -2.0 - 0.5 * 10.0)  # SAP rises from below the disc plane
        & (points @ geometry.posterior_lps > geometry.posterior_margin_mm)
        & (sign * points[:, 0] > 5.0)
    )
    out = np.zeros_like(mask)
    out[tuple(ijk[keep].T)] = True
    return out
