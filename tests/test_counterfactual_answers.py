"""Counterfactual answers end to end, image → value and confidence, against a hand derivation.

Each case renders a crossing scene with known values, asks a counterfactual question about the
picture, and compares the answer with the probability derived by hand below from the numbers of
``crossing.scm.toml`` as written: CPDs multiplied out, the comonotone response noise of a CPD
(docs/scm-format.md) as intervals of ``u``, and the real noise (friction, braking) integrated with
SciPy's quadrature. Nothing of the engine is used for the reference: only the soft evidence the
grounding reported, which the test first checks against the rendered truth.

The engine draws the real noise (``samples`` per finite world), so the two may differ by Monte
Carlo error; the tolerance is four standard errors of a proportion at the answer's probability.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest
from scipy import integrate, stats

from mmreason import Reasoner
from mmreason.worlds.crossing.render import render_values

pytestmark = pytest.mark.slow

SAMPLES = 5000

# crossing.scm.toml, read by hand.
G, T_REACT = 9.81, 1.0
MU = {"dry": 0.75, "wet": 0.45}  # Friction = (0.75 if Road == "dry" else 0.45) + U_Friction
FRICTION_BOUNDS = (0.05, 1.2)
SIGMA_FRICTION, SIGMA_BRAKING = 0.04, 1.5
P_WEATHER = {"clear": 0.55, "cloudy": 0.25, "rain": 0.20}
P_CLEANING = {0: 0.9, 1: 0.1}
P_DRY = {
    ("clear", 0): 0.98,
    ("clear", 1): 0.10,
    ("cloudy", 0): 0.90,
    ("cloudy", 1): 0.08,
    ("rain", 0): 0.05,
    ("rain", 1): 0.02,
}
P_LIGHT = {"red": 0.40, "yellow": 0.10, "green": 0.50}
P_NO_BRAKES = {"red": 0.03, "yellow": 0.40, "green": 0.95}  # P(DriverBrakes=0 | Light): 0 comes first
P_PEDESTRIAN = 0.3


def stop_probability(mu: float, speed: float, distance: float) -> float:
    """P(v·t + v²/(2·μ'·g) + U_B < d), μ' = clip(μ + U_F), U_F ~ N(0, 0.04), U_B ~ N(0, 1.5)."""

    def integrand(u: float) -> float:
        friction = min(max(mu + u, FRICTION_BOUNDS[0]), FRICTION_BOUNDS[1])
        braking = speed * T_REACT + speed**2 / (2 * friction * G)
        return stats.norm.pdf(u, scale=SIGMA_FRICTION) * stats.norm.cdf((distance - braking) / SIGMA_BRAKING)

    bound = 10 * SIGMA_FRICTION
    return integrate.quad(integrand, -bound, bound, epsabs=1e-12, limit=200)[0]


def road_posterior(weather: Mapping[str, float], road: Mapping[str, float]) -> dict[str, float]:
    """P(Road | soft evidence on Weather and Road), summing out Weather and StreetCleaning."""
    weight = {"dry": 0.0, "wet": 0.0}
    for w, p_w in P_WEATHER.items():
        for c, p_c in P_CLEANING.items():
            dry = P_DRY[(w, c)]
            for r, p_r in (("dry", dry), ("wet", 1 - dry)):
                weight[r] += p_w * weather[w] * p_c * p_r * road[r]
    total = sum(weight.values())
    return {r: x / total for r, x in weight.items()}


def brakes_probability(
    light: Mapping[str, float], brakes: Mapping[int, float], do: Mapping[str, Any]
) -> float:
    """P(DriverBrakes = 1 in the counterfactual world | soft evidence on Light and DriverBrakes).

    The CPD's response noise u ~ U(0, 1) gives 0 on [0, a) and 1 on [a, 1), a = P(0 | Light);
    the factual light and u are weighted by the evidence, and u is kept for the counterfactual light.
    """
    if "DriverBrakes" in do:
        return float(do["DriverBrakes"])
    numerator = total = 0.0
    for factual, p_light in P_LIGHT.items():
        a = P_NO_BRAKES[factual]
        a_after = P_NO_BRAKES[do.get("Light", factual)]
        for low, high, value in ((0.0, a, 0), (a, 1.0, 1)):
            weight = p_light * light[factual] * (high - low) * brakes[value]
            total += weight
            numerator += weight * max(0.0, high - max(low, a_after)) / (high - low)
    return numerator / total


def stops_in_time(evidence: Mapping[str, float], soft: Mapping[str, Any], do: Mapping[str, Any]) -> float:
    roads = {do["Road"]: 1.0} if "Road" in do else road_posterior(soft["Weather"], soft["Road"])
    speed, distance = evidence["Speed"], evidence["DistanceToCrosswalk"]
    stop = sum(p * stop_probability(MU[r], speed, distance) for r, p in roads.items())
    return brakes_probability(soft["Light"], soft["DriverBrakes"], do) * stop


def collision(evidence: Mapping[str, float], soft: Mapping[str, Any], do: Mapping[str, Any]) -> float:
    if "PedestrianOnCrosswalk" in do:
        pedestrian = float(do["PedestrianOnCrosswalk"])
    else:
        seen = soft["PedestrianOnCrosswalk"]
        pedestrian = P_PEDESTRIAN * seen[1] / (P_PEDESTRIAN * seen[1] + (1 - P_PEDESTRIAN) * seen[0])
    return pedestrian * (1 - stops_in_time(evidence, soft, do))


SCENES = {
    5: dict(Weather="clear", Road="dry", Light="green", DistanceToCrosswalk=22.0, Speed=12.0, DriverBrakes=0),
    7: dict(Weather="rain", Road="wet", Light="red", DistanceToCrosswalk=40.0, Speed=15.0, DriverBrakes=1),
    11: dict(
        Weather="cloudy", Road="dry", Light="yellow", DistanceToCrosswalk=25.0, Speed=10.0, DriverBrakes=1
    ),
    13: dict(Weather="clear", Road="wet", Light="red", DistanceToCrosswalk=45.0, Speed=16.0, DriverBrakes=1),
    17: dict(Weather="rain", Road="wet", Light="green", DistanceToCrosswalk=35.0, Speed=9.0, DriverBrakes=0),
    19: dict(Weather="clear", Road="dry", Light="red", DistanceToCrosswalk=18.0, Speed=11.0, DriverBrakes=1),
}
PEDESTRIAN = {5: 1, 7: 1, 11: 0, 13: 1, 17: 1, 19: 1}

CASES = [
    (
        5,
        "Would the car have stopped before the crosswalk if the light had been red?",
        stops_in_time,
        {"Light": "red"},
    ),
    (5, "Would the car have hit the pedestrian if the driver had braked?", collision, {"DriverBrakes": 1}),
    (7, "Would the car have stopped in time if the road had been dry?", stops_in_time, {"Road": "dry"}),
    (7, "Would the car have hit the pedestrian if the light had been green?", collision, {"Light": "green"}),
    (11, "Would the car have stopped in time if the road had been wet?", stops_in_time, {"Road": "wet"}),
    (
        11,
        "Would there have been a crash if a pedestrian had been on the crosswalk?",
        collision,
        {"PedestrianOnCrosswalk": 1},
    ),
    (
        13,
        "Would the car have stopped before the crosswalk if the road had been dry?",
        stops_in_time,
        {"Road": "dry"},
    ),
    (13, "Would the car have hit the pedestrian if the road had been dry?", collision, {"Road": "dry"}),
    (
        13,
        "Would the car have stopped in time if the light had been yellow?",
        stops_in_time,
        {"Light": "yellow"},
    ),
    (17, "Would the car have stopped in time if the light had been red?", stops_in_time, {"Light": "red"}),
    (17, "Would the car have hit the pedestrian if the driver had braked?", collision, {"DriverBrakes": 1}),
    (
        19,
        "Would the car have stopped before the crosswalk if the road had been wet?",
        stops_in_time,
        {"Road": "wet"},
    ),
    (
        19,
        "Would the car have hit the pedestrian if the driver had not braked?",
        collision,
        {"DriverBrakes": 0},
    ),
    (19, "Would the car have hit the pedestrian if the light had been green?", collision, {"Light": "green"}),
]


@pytest.fixture(scope="module")
def reasoner() -> Reasoner:
    return Reasoner.from_world("crossing", device="cpu", samples=SAMPLES, seed=0)


@pytest.fixture(scope="module")
def scenes(reasoner: Reasoner) -> dict[int, tuple[Any, Any]]:
    out = {}
    for seed, values in SCENES.items():
        image, _ = render_values({**values, "PedestrianOnCrosswalk": PEDESTRIAN[seed]}, seed=seed)
        out[seed] = (image, reasoner.executor.evidence(reasoner.ground(image)))
    return out


@pytest.mark.parametrize("seed", sorted(SCENES))
def test_the_grounding_reads_what_was_rendered(scenes, seed: int) -> None:
    _, evidence = scenes[seed]
    truth = {**SCENES[seed], "PedestrianOnCrosswalk": PEDESTRIAN[seed]}
    for name, seen in evidence.soft_evidence.items():
        assert max(seen, key=seen.get) == truth[name], (name, dict(seen))
    assert evidence.evidence["Speed"] == pytest.approx(truth["Speed"], abs=0.25)
    assert evidence.evidence["DistanceToCrosswalk"] == pytest.approx(truth["DistanceToCrosswalk"], abs=0.125)


@pytest.mark.parametrize(("seed", "question", "reference", "do"), CASES, ids=[c[1] for c in CASES])
def test_counterfactual_answer_equals_the_hand_derivation(
    reasoner, scenes, seed, question, reference, do
) -> None:
    image, evidence = scenes[seed]
    p = reference(evidence.evidence, evidence.soft_evidence, do)
    tolerance = 4 * math.sqrt(max(p * (1 - p), 1e-4) / SAMPLES)

    answer = reasoner.ask(image, question)
    parse = next(step for step in answer.steps if step.kind == "parse")
    causal = next(step for step in answer.steps if step.kind == "causal")
    assert "do={" in parse.detail and ", ".join(f"{k}: {v}" for k, v in do.items()) in parse.detail
    assert "abduction, action, prediction" in causal.detail
    if abs(p - 0.5) > tolerance:
        assert answer.value is (p > 0.5)
    assert answer.confidence == pytest.approx(min(max(p, 1 - p), parse.confidence), abs=tolerance)


def test_the_hand_derivation_has_textbook_values() -> None:
    """Spot checks of the reference itself, from closed forms a reader can redo."""
    # Without friction noise the stopping distance at 12 m/s on a dry road is 12 + 144/14.715 m.
    braking = 12 + 144 / (2 * 0.75 * G)
    assert braking == pytest.approx(21.786, abs=1e-3)
    # Red light, brakes seen for certain; green in the counterfactual: P(u ≥ 0.95 | u ≥ 0.03) = 0.05/0.97.
    certain = {"red": 1.0, "yellow": 0.0, "green": 0.0}
    assert brakes_probability(certain, {0: 0.0, 1: 1.0}, {"Light": "green"}) == pytest.approx(0.05 / 0.97)
    # Green light, no brakes; red in the counterfactual: P(u ≥ 0.03 | u < 0.95) = 0.92/0.95.
    green = {"red": 0.0, "yellow": 0.0, "green": 1.0}
    assert brakes_probability(green, {0: 1.0, 1: 0.0}, {"Light": "red"}) == pytest.approx(0.92 / 0.95)
    # Certain evidence of rain and a wet road: the road is wet.
    rain = {"clear": 0.0, "cloudy": 0.0, "rain": 1.0}
    assert road_posterior(rain, {"dry": 0.0, "wet": 1.0}) == {"dry": 0.0, "wet": 1.0}
