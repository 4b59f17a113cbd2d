"""The simulated operating room's case (phantom seed 4, its plan and clearance fields), built once."""

import pytest

from kambin.navigation import simulation as sim


@pytest.fixture(scope="session")
def case():
    return sim.build_case()
