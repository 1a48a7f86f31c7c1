"""Shared SCMs for the causal tests (loaded once per session; the models are immutable)."""

from __future__ import annotations

import pytest

from mmreason import SCM
from mmreason.paths import bundled_graphs_dir

LINEAR_GAUSSIAN = """
name = "linear"
[exogenous.N_X]
distribution = "normal"
mean = 0.0
std = 1.0
[exogenous.N_Z]
distribution = "normal"
mean = 0.0
std = 0.5
[exogenous.N_Y]
distribution = "normal"
mean = 0.0
std = 2.0
[variables.X]
type = "real"
equation = "1 + N_X"
[variables.Z]
type = "real"
equation = "2 * X + N_Z"
[variables.Y]
type = "real"
equation = "3 * Z - X + N_Y"
"""


def firing_squad_with(p: float, q: float) -> SCM:
    """Pearl's firing squad (Causality §7.1.2) with court-order probability p and nervousness q."""
    return SCM.from_toml(
        f"""
[exogenous.U]
distribution = "bernoulli"
p = {p}
[exogenous.W]
distribution = "bernoulli"
p = {q}
[variables.C]
domain = [0, 1]
equation = "U"
[variables.A]
domain = [0, 1]
equation = "C or W"
[variables.B]
domain = [0, 1]
equation = "C"
[variables.D]
domain = [0, 1]
equation = "A or B"
""",
        device="cpu",
    )


@pytest.fixture(scope="session")
def sprinkler() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "sprinkler.scm.toml", device="cpu")


@pytest.fixture(scope="session")
def firing_squad() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "firing_squad.scm.toml", device="cpu")


@pytest.fixture(scope="session")
def crossing() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "crossing" / "crossing.scm.toml", device="cpu")


@pytest.fixture(scope="session")
def crossing_discrete(crossing: SCM) -> SCM:
    return crossing.discrete_part(samples=20_000, seed=0)


@pytest.fixture(scope="session")
def linear() -> SCM:
    return SCM.from_toml(LINEAR_GAUSSIAN, device="cpu")


@pytest.fixture(scope="session")
def braking() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "braking.scm.toml", device="cpu")
