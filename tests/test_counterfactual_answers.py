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
from typing import Any

import pytest

from bench.crossing_reference import (
    brakes_probability,
    collision,
    road_posterior,
    stop_probability,
    stops_in_time,
)
from mmreason import Reasoner
from mmreason.worlds.crossing.render import render_values

pytestmark = pytest.mark.slow

SAMPLES = 5000

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
    braking = 12 + 144 / (2 * 0.75 * 9.81)
    assert braking == pytest.approx(21.786, abs=1e-3)
    # Stopping exactly there is a coin toss (braking noise is symmetric; friction's adds a little skew).
    assert stop_probability(0.75, 12.0, braking) == pytest.approx(0.5, abs=0.03)
    assert stop_probability(0.75, 12.0, 1000.0) == pytest.approx(1.0)
    # Red light, brakes seen for certain; green in the counterfactual: P(u ≥ 0.95 | u ≥ 0.03) = 0.05/0.97.
    certain = {"red": 1.0, "yellow": 0.0, "green": 0.0}
    assert brakes_probability(certain, {0: 0.0, 1: 1.0}, {"Light": "green"}) == pytest.approx(0.05 / 0.97)
    # Green light, no brakes; red in the counterfactual: P(u ≥ 0.03 | u < 0.95) = 0.92/0.95.
    green = {"red": 0.0, "yellow": 0.0, "green": 1.0}
    assert brakes_probability(green, {0: 1.0, 1: 0.0}, {"Light": "red"}) == pytest.approx(0.92 / 0.95)
    # Certain evidence of rain and a wet road: the road is wet.
    rain = {"clear": 0.0, "cloudy": 0.0, "rain": 1.0}
    assert road_posterior(rain, {"dry": 0.0, "wet": 1.0}) == {"dry": 0.0, "wet": 1.0}
