"""The registration file: as `kambin register points --json` writes it (moving = the reference's
touched points, fixed = the CT's), read back as `ct_to_reference` with the predicted TRE as its
error, or the FRE when no TRE was predicted."""

import json

import numpy as np

from kambin.geometry.transforms import from_axis_angle, invert
from kambin.registration.registration_file import read_registration, registration_file_fields, write_registration


def test_registration_round_trip(tmp_path):
    reference_to_ct = from_axis_angle([0.0, 0.1, 0.4], [10.0, -5.0, 30.0])
    path = write_registration(registration_file_fields(reference_to_ct, 0.8, 1.1, n_points=6), tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["format"] == "kambin-registration-1" and data["n_points"] == 6
    registration = read_registration(path)
    assert np.allclose(registration.ct_to_reference, invert(reference_to_ct), atol=1e-12)
    assert registration.error_mm == 1.1
    without_tre = write_registration(registration_file_fields(reference_to_ct, 0.8), tmp_path / "fre.json")
    assert read_registration(without_tre).error_mm == 0.8
