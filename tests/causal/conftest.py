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

BRAKING = """
name = "braking"
[constants]
t_react = 1.0
g = 9.81
[exogenous.U_Speed]
distribution = "uniform"
low = 8.0
high = 17.0
[exogenous.U_Friction]
distribution = "normal"
mean = 0.0
std = 0.1
[exogenous.U_Distance]
distribution = "uniform"
low = 10.0
high = 60.0
[exogenous.U_Braking]
distribution = "normal"
mean = 0.0
std = 1.5
[exogenous.U_Margin]
distribution = "normal"
mean = 0.0
std = 0.5
[variables.Speed]
type = "real"
unit = "m/s"
equation = "U_Speed"
[variables.Friction]
type = "real"
equation = "0.6 + U_Friction"
[variables.DistanceToCrosswalk]
type = "real"
unit = "m"
equation = "U_Distance"
[variables.BrakingDistance]
type = "real"
unit = "m"
equation = "Speed * t_react + Speed ** 2 / (2 * Friction * g) + U_Braking"
[variables.Margin]
type = "real"
unit = "m"
equation = "DistanceToCrosswalk - BrakingDistance + U_Margin"
"""


@pytest.fixture(scope="session")
def sprinkler() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "sprinkler.scm.toml", device="cpu")


@pytest.fixture(scope="session")
def firing_squad() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "firing_squad.scm.toml", device="cpu")


@pytest.fixture(scope="session")
def crossing() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "crossing.scm.toml", device="cpu")


@pytest.fixture(scope="session")
def crossing_discrete(crossing: SCM) -> SCM:
    return crossing.discrete_part(samples=20_000, seed=0)


@pytest.fixture(scope="session")
def linear() -> SCM:
    return SCM.from_toml(LINEAR_GAUSSIAN, device="cpu")


@pytest.fixture(scope="session")
def braking() -> SCM:
    return SCM.from_toml(BRAKING, device="cpu")
