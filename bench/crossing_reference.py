"""The crossing's counterfactuals derived by hand from ``crossing.scm.toml`` as written.

CPDs are multiplied out; a CPD's response noise is the comonotone coupling of docs/scm-format.md,
kept as intervals of ``u``; the real noise (friction, braking) is integrated with SciPy's
quadrature. Nothing of mmreason's engine is used: this is the reference the end-to-end tests and
the dialogue benchmark score the engine against. Evidence is soft (a likelihood per value, as the
grounding reports it); :func:`counterfactual` gives the answer for a render's true values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scipy import integrate, stats

__all__ = [
    "brakes_probability",
    "collision",
    "counterfactual",
    "road_posterior",
    "stop_probability",
    "stops_in_time",
]

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


def stop_probability(mu: float, speed: float, distance: float, reaction: float = T_REACT) -> float:
    """P(v·t + v²/(2·μ'·g) + U_B < d), μ' = clip(μ + U_F), U_F ~ N(0, 0.04), U_B ~ N(0, 1.5)."""

    def integrand(u: float) -> float:
        friction = min(max(mu + u, FRICTION_BOUNDS[0]), FRICTION_BOUNDS[1])
        braking = speed * reaction + speed**2 / (2 * friction * G)
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
    # Speed is its own noise (U_Speed) and ReactionTime a constant: setting either changes
    # nothing upstream, so the counterfactual reads them as given.
    speed, distance = do.get("Speed", evidence["Speed"]), evidence["DistanceToCrosswalk"]
    reaction = do.get("ReactionTime", T_REACT)
    stop = sum(p * stop_probability(MU[r], speed, distance, reaction) for r, p in roads.items())
    # With no reading of the driver's response, its likelihood is flat.
    brakes = soft.get("DriverBrakes", {0: 1.0, 1: 1.0})
    return brakes_probability(soft["Light"], brakes, do) * stop


def collision(evidence: Mapping[str, float], soft: Mapping[str, Any], do: Mapping[str, Any]) -> float:
    if "PedestrianOnCrosswalk" in do:
        pedestrian = float(do["PedestrianOnCrosswalk"])
    else:
        seen = soft["PedestrianOnCrosswalk"]
        pedestrian = P_PEDESTRIAN * seen[1] / (P_PEDESTRIAN * seen[1] + (1 - P_PEDESTRIAN) * seen[0])
    return pedestrian * (1 - stops_in_time(evidence, soft, do))


def counterfactual(target: str, values: Mapping[str, Any], do: Mapping[str, Any]) -> float:
    """P(target = 1 had ``do`` been so), given a render's true values (hard evidence)."""
    evidence = {"Speed": float(values["Speed"]), "DistanceToCrosswalk": float(values["DistanceToCrosswalk"])}
    soft = {
        "Weather": {w: float(w == values["Weather"]) for w in P_WEATHER},
        "Road": {r: float(r == values["Road"]) for r in ("dry", "wet")},
        "Light": {li: float(li == values["Light"]) for li in P_LIGHT},
        "DriverBrakes": {b: float(b == int(values["DriverBrakes"])) for b in (0, 1)},
        "PedestrianOnCrosswalk": {b: float(b == int(values["PedestrianOnCrosswalk"])) for b in (0, 1)},
    }
    if target == "StopsInTime":
        return stops_in_time(evidence, soft, do)
    if target == "Collision":
        return collision(evidence, soft, do)
    raise ValueError(f"no hand derivation for {target!r}")
