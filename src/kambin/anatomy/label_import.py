"""Import label maps made elsewhere (TotalSegmentator, VerSe, 3D Slicer...) onto the registry's ids.

A label map is only useful here on the CT's own voxels: one on the same voxel centres in another
axis order (a LAS NIfTI of an LPS DICOM series) is re-indexed exactly; one on another grid is
refused, because resampling a label map silently moves its boundaries.

Schemes:
    totalsegmentator: TotalSegmentator v2 `total` ids (Wasserthal et al., Radiology: AI 2023); the
        registry uses the same ids, so only ids the registry lacks are dropped (with a warning).
    verse: VerSe challenge ids (Sekuboyina et al., Med Image Anal 2021): 1-7 C1-C7, 8-19 T1-T12,
        20-24 L1-L5, 25 L6, 26 sacrum, 28 T13. L6 and T13 (transitional vertebrae) have no
        registry name and are dropped with a warning.
    json:MAPPING.json: a JSON object from source id (a string) to registry name, or to null to
        drop that id on purpose; an id in the map that MAPPING does not mention is an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kambin.anatomy.labels import label, label_by_id
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging.grid import reorient_like
from kambin.imaging.io import read_volume
from kambin.imaging.volume import Volume

SCHEMES = ("totalsegmentator", "verse", "json:MAPPING.json")

_VERSE_NAMES = (
    {n: f"vertebrae_C{n}" for n in range(1, 8)}
    | {7 + n: f"vertebrae_T{n}" for n in range(1, 13)}
    | {19 + n: f"vertebrae_L{n}" for n in range(1, 6)}
    | {26: "sacrum"}
)
_VERSE_UNNAMED = {25: "L6", 28: "T13"}


def scheme_mapping(scheme: str, ids: list[int]) -> tuple[dict[int, int], list[str]]:
    """Source id -> registry id for the ids present, and warnings for the ids dropped."""
    warnings: list[str] = []
    mapping: dict[int, int] = {}
    if scheme == "totalsegmentator":
        dropped = []
        for i in ids:
            try:
                mapping[i] = label_by_id(i).id
            except InvalidInputError:
                dropped.append(i)
        if dropped:
            warnings.append(f"dropped TotalSegmentator ids the registry does not hold: {dropped}")
    elif scheme == "verse":
        for i in ids:
            if i in _VERSE_NAMES:
                mapping[i] = label(_VERSE_NAMES[i]).id
            elif i in _VERSE_UNNAMED:
                warnings.append(
                    f"dropped VerSe id {i} ({_VERSE_UNNAMED[i]}, a transitional vertebra with no registry name)"
                )
            else:
                raise InvalidInputError(f"id {i} is not a VerSe vertebra id (1-28); is this a VerSe mask?")
    elif scheme.startswith("json:"):
        mapping = _json_mapping(Path(scheme[5:]), ids)
    else:
        raise InvalidInputError(f"--label-scheme must be one of {SCHEMES}, not {scheme!r}")
    return mapping, warnings


def _json_mapping(path: Path, ids: list[int]) -> dict[int, int]:
    if not path.is_file():
        raise UnreadableFileError(f'{path}: label mapping file not found (expected JSON: {{"27": "vertebrae_L5"}})')
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableFileError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{path}: expected a JSON object from id to registry name, got {type(raw).__name__}")
    names: dict[int, str | None] = {}
    for key, value in raw.items():
        try:
            source_id = int(key)
        except ValueError:
            raise InvalidInputError(f"{path}: key {key!r} is not an integer label id") from None
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{path}: value for {key!r} must be a registry name or null, not {value!r}")
        names[source_id] = value
    missing = [i for i in ids if i not in names]
    if missing:
        raise InvalidInputError(
            f"{path}: the label map has ids {missing} that the mapping does not mention; "
            "map each to a registry name, or to null to drop it"
        )
    return {i: label(names[i]).id for i in ids if names[i] is not None}


def relabel(voxels: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Apply source id -> registry id through a lookup table; ids not in `mapping` become 0."""
    table = np.zeros(int(voxels.max()) + 1, dtype=np.uint8)
    for source, target in mapping.items():
        table[source] = target
    return table[voxels]


def import_label_map(path: str | os.PathLike, scheme: str, ct: Volume | None) -> Volume:
    """Read a label map, check it lies on `ct`'s voxels, and translate its ids to the registry's.

    Returns a uint8 Volume on `ct`'s grid (or the file's own grid when `ct` is None) with modality
    "SEG"; ids that were dropped are listed in its `warnings`. Raises InvalidInputError for a map
    on another grid, with non-integer or negative values, or with ids the scheme does not know.
    """
    if not (scheme in SCHEMES[:2] or scheme.startswith("json:")):
        raise InvalidInputError(f"--label-scheme must be one of {SCHEMES}, not {scheme!r}")
    volume = read_volume(path)
    voxels = volume.voxels
    if voxels.dtype.kind == "f" and (not np.all(np.isfinite(voxels)) or np.any(voxels != np.round(voxels))):
        raise InvalidInputError(f"{path}: not a label map (non-integer values); expected integer label ids")
    if voxels.size == 0 or voxels.min() < 0:
        raise InvalidInputError(f"{path}: not a label map (negative values); expected label ids >= 0")
    voxels = voxels.astype(np.int64)
    ids = [int(i) for i in np.unique(voxels) if i != 0]
    if not ids:
        raise InvalidInputError(f"{path}: the label map is empty (all zeros)")
    if ct is not None:
        try:
            volume = reorient_like(volume.with_voxels(voxels), ct)
        except InvalidInputError as error:
            raise InvalidInputError(
                f"{path}: label map ({volume.shape_ijk} voxels, {np.round(volume.spacing_mm, 3).tolist()} mm) "
                f"is not on the CT's grid ({ct.shape_ijk} voxels, {np.round(ct.spacing_mm, 3).tolist()} mm): {error}; "
                "resample the label map onto the CT (nearest neighbour) first"
            ) from None
        voxels = volume.voxels
    mapping, warnings = scheme_mapping(scheme, ids)
    out = relabel(voxels, mapping)
    return Volume(
        voxels=out,
        voxel_to_lps=volume.voxel_to_lps,
        modality="SEG",
        source=str(path),
        metadata={"label_scheme": scheme, "source_ids": ids},
        warnings=tuple(warnings),
    )
