"""Shared fixtures: where the real public data lives (../shared/data, never copied here)."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; the tests that need it fail loudly, not skip, when it is absent."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"real test data expected at {SHARED_DATA}")
    return SHARED_DATA
