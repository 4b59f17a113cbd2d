"""Intravenous contrast for the synthetic patient: the enhanced vessels and organs of a real scan.

A contrast-enhanced CT lifts blood and perfused organs into the range of cancellous bone (150-400
HU): a method that calls everything above a bone threshold "bone" paints the aorta, the kidneys or
the heart as vertebrae. The phantom paints them as a scanner shows them, so that a test knows
exactly which voxels are enhanced tissue and must never carry a vertebra's label.

Enhancement by phase (Bae KT, Radiology 256(1), 2010, "Intravenous contrast medium administration
and scan timing at CT": aortic enhancement of 250-350 HU in the late arterial phase, 150-200 HU in the
portal venous phase; renal cortex and parenchyma 150-200 HU from the late arterial phase on).
"""

from __future__ import annotations

from dataclasses import replace

from kambin.errors import InvalidInputError
from kambin.phantom.soft_tissue import Paint

#: Phase -> label prefix -> HU painted (unenhanced values stand where a label is not listed).
ENHANCED_HU: dict[str, dict[str, float]] = {
    "none": {},
    "arterial": {
        "aorta": 320.0,
        "iliac_artery": 300.0,
        "inferior_vena_cava": 90.0,
        "iliac_vena": 80.0,
        "kidney": 180.0,
        "spleen": 130.0,
        "liver": 80.0,
    },
    "venous": {
        "aorta": 180.0,
        "iliac_artery": 170.0,
        "inferior_vena_cava": 160.0,
        "iliac_vena": 150.0,
        "kidney": 190.0,
        "spleen": 120.0,
        "liver": 110.0,
    },
}
CONTRAST_PHASES = tuple(ENHANCED_HU)


def check_phase(phase: str) -> str:
    if phase not in ENHANCED_HU:
        raise InvalidInputError(f"contrast must be one of {', '.join(CONTRAST_PHASES)}, not {phase!r}")
    return phase


def enhance(paints: list[Paint], phase: str) -> list[Paint]:
    """The paints with the enhanced HU of `phase` for the vessels and organs it lifts."""
    table = ENHANCED_HU[check_phase(phase)]
    out = []
    for paint in paints:
        hu = next((v for prefix, v in table.items() if paint.label and paint.label.startswith(prefix)), None)
        out.append(paint if hu is None else replace(paint, hu=hu))
    return out


def enhanced_labels(phase: str) -> tuple[str, ...]:
    """Label-name prefixes that `phase` enhances (for tests: none of them may be labelled bone)."""
    return tuple(ENHANCED_HU[check_phase(phase)])
