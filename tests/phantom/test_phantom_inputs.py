"""Bad input: one-line errors that say what is allowed, and nothing built or written."""

from __future__ import annotations

import pytest

from kambin.errors import InvalidInputError
from kambin.phantom import make_patient


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"pathology": "tumour"}, "pathology must be one of"),
        ({"pathology": "central-herniation", "level": "L5-L6"}, "level must be one of"),
        ({"side": "both"}, "side must be left or right"),
        ({"pathology": "foraminal-stenosis", "migration": "cranial"}, "migration applies to herniations only"),
        ({"pathology": "central-herniation", "migration": "up"}, "migration must be one of"),
        ({"pathology": "high-iliac-crest", "level": "L4-L5"}, "a high iliac crest is an L5-S1 condition"),
        ({"habitus": "huge"}, "habitus must be one of"),
        ({"spacing_mm": (0.0, 1.0, 1.0)}, "spacing must be three numbers between 0.3 and 5.0"),
        ({"spacing_mm": (1.0, 1.0)}, "spacing must be three numbers"),
        ({"spacing_mm": ("a", 1, 1)}, "spacing must be three numbers"),
        ({"spacing_mm": (float("nan"), 1, 1)}, "spacing must be three numbers"),
        ({"spacing_mm": (0.3, 0.3, 0.3)}, "use a coarser spacing"),
        ({"severity": 5.0}, "severity must be between"),
        ({"contrast": "delayed"}, "contrast must be one of none, arterial, venous"),
        ({"storage": "oblique"}, "storage must be one of axial, sagittal, coronal"),
    ],
)
def test_bad_options_raise_one_line_errors(kwargs, message):
    seed = kwargs.pop("seed", 0)
    with pytest.raises(InvalidInputError, match=message) as info:
        make_patient(seed, **kwargs)
    assert "\n" not in str(info.value)
