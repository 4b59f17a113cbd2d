"""NDI tracker wrapper: configuration validation, the missing-extra error, and the dummy device.

Hardware is not tested. ROM files: PlusLibData's NdiToolDefinitions (BSD-3).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking.ndi import INSTALL_HINT, NdiTracker, ndi_config, sksurgery_available


@pytest.fixture(scope="module")
def rom(shared_data):
    return shared_data / "tracking" / "plus" / "ConfigFiles" / "NdiToolDefinitions" / "8700248.rom"


def test_valid_configurations_build_sksurgery_dictionaries(rom):
    polaris = ndi_config(
        {"tracker_type": "polaris", "tools": ["pointer"], "romfiles": [str(rom)], "serial_port": "/dev/ttyUSB0"}
    )
    assert polaris.sksurgery_config() == {
        "tracker type": "polaris",
        "smoothing buffer": 1,
        "romfiles": [str(rom)],
        "serial port": "/dev/ttyUSB0",
        "ports to probe": 20,
    }
    vega = ndi_config(
        {"tracker_type": "vega", "tools": ["pointer"], "romfiles": [str(rom)], "ip_address": "169.254.7.250"}
    )
    assert vega.sksurgery_config()["ip address"] == "169.254.7.250" and vega.sksurgery_config()["port"] == 8765
    aurora = ndi_config({"tracker_type": "aurora", "tools": ["needle", "reference"]})
    assert "romfiles" not in aurora.sksurgery_config()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tracker_type": "optotrak", "tools": ["a"]}, "tracker_type"),
        ({"tracker_type": "polaris", "tools": ["a"]}, "ROM file per tool"),
        ({"tracker_type": "vega", "tools": ["a"], "romfiles": ["x.rom"]}, "ip_address"),
        ({"tracker_type": "aurora", "tools": ["a"], "romfiles": ["x.rom"]}, "no romfiles"),
        ({"tracker_type": "aurora", "tools": []}, "tools"),
        ({"tracker_type": "aurora", "tools": ["a", "a"]}, "unique"),
        ({"tracker_type": "aurora", "tools": ["a"], "baud": 9600}, "Extra inputs"),
    ],
)
def test_invalid_configurations_are_refused(data, message):
    with pytest.raises(InvalidInputError, match=message):
        ndi_config(data)


def test_missing_rom_file(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        ndi_config({"tracker_type": "polaris", "tools": ["a"], "romfiles": [str(tmp_path / "none.rom")]})


def test_clear_error_without_the_extra(rom, monkeypatch):
    config = ndi_config({"tracker_type": "dummy", "tools": ["pointer"], "romfiles": [str(rom)]})
    monkeypatch.setitem(sys.modules, "sksurgerynditracker", None)
    monkeypatch.setitem(sys.modules, "sksurgerynditracker.nditracker", None)
    assert not sksurgery_available()
    with pytest.raises(InvalidInputError, match=r"kambin\[ndi\]") as info:
        NdiTracker(config).start()
    assert str(info.value) == INSTALL_HINT


def test_dummy_device_reports_tools_missing(rom):
    config = ndi_config({"tracker_type": "dummy", "tools": ["pointer"], "romfiles": [str(rom)]})
    with NdiTracker(config) as tracker:
        frame = tracker.get_frame()
    assert frame.poses["pointer"].status == "missing" and frame.valid_pose("pointer") is None
    assert np.isnan(frame.poses["pointer"].tool_to_tracker).all()
    assert any("missing" in line for line in tracker.faults)


def test_no_device_on_a_serial_port_is_a_connection_error(rom):
    from kambin.tracking.source import TrackerConnectionError

    config = ndi_config(
        {"tracker_type": "aurora", "tools": ["needle"], "serial_port": "/dev/kambin-no-such-port", "ports_to_probe": 1}
    )
    with pytest.raises(TrackerConnectionError, match="did not connect"):
        NdiTracker(config).start()
