"""A time-stepped simulator of the crossing, written apart from its SCM: the world's truth.

The SCM in ``graphs/crossing/crossing.scm.toml`` is an expert's model of this
street (reaction distance plus ``v²/(2·μ·g)``); this module is the street
itself, with more going on than the model says:

- the driver's reaction time is log-normal (median 0.9 s) and one driver in
  twelve has an attention lapse that adds 0.5–2 s;
- braking builds up over a few tenths of a second, asks for the deceleration
  that stops the car half a metre short of the stop line, and is limited by tyre–road friction through an
  ABS-like cap (90% of ``μ·g``, at most 9.5 m/s²), less on a downhill slope;
- friction depends on the surface, the tyres and the temperature (cold tyres
  grip less; a wet road at or below 0 °C is ice);
- the light changes during the clip (green → yellow for 3 s → red); on yellow a
  driver stops only if a comfortable stop (3 m/s²) fits, else drives on;
- a pedestrian may walk, hesitate at the centre line, or run across;
- a collision is found by geometry: the car's body and the pedestrian overlap.

Every hidden draw of a clip is kept in :class:`Draws`, so the clip can be
re-run under an intervention on the same draws (the protocol CLEVRER uses for
counterfactual truth: Yi et al., "CLEVRER", ICLR 2020). The road runs along
``x`` in metres with the crosswalk's near edge (the stop line) at 0 and the
crosswalk 5 m wide; ``y`` runs across the road from the near kerb (0) to the
far kerb (7 m); the car drives towards ``+x`` in the near lane.

>>> draws = Draws.sample(4)
>>> run = simulate(draws)
>>> run == simulate(Draws.sample(4))
True
>>> dry = simulate(draws, surface="dry")
>>> dry.draws == draws and dry.friction >= run.friction
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from mmreason.errors import InvalidInputError, UnknownNameError

__all__ = [
    "CROSSWALK_M",
    "INTERVENTIONS",
    "ROAD_WIDTH_M",
    "Draws",
    "Event",
    "Other",
    "Run",
    "State",
    "simulate",
]

G = 9.81
#: The crosswalk's width along the road, in metres (from the stop line at x = 0).
CROSSWALK_M = 5.0
#: The road's width across, in metres: the near lane is y in [0, 3.5], the far lane [3.5, 7].
ROAD_WIDTH_M = 7.0
YELLOW_S = 3.0
DT = 0.01
HORIZON_S = 15.0
#: Where the car's body is across the road (near lane), and the pedestrian's radius, in metres.
_CAR_Y = (0.85, 2.65)
_PED_R = 0.3
_STOP_MARGIN_M = 0.5
_COMFORT = 3.0  # m/s², the deceleration a driver accepts for a yellow light
_ABS = 0.9  # the share of μ·g an ABS-like controller holds
_CAP = 9.5  # m/s², the most any car decelerates
_LENGTH_M = {"car": 4.5, "truck": 8.0, "bus": 11.0}

WEATHERS = ("clear", "cloudy", "rain")
LIGHTS = ("red", "yellow", "green")
SURFACES = ("dry", "wet")
PEDESTRIAN_KINDS = ("walk", "hesitate", "run")


@dataclass(frozen=True, slots=True)
class Other:
    """A road user the story is not about: queued behind the car or oncoming in the far lane."""

    type: str  # "car", "truck", "bus"
    colour: str
    lane: str  # "near" (behind the car, towards +x) or "far" (towards -x)
    x0: float  # front at t = 0, metres
    speed: float  # m/s; a queued vehicle keeps its gap to the car instead


@dataclass(frozen=True, slots=True)
class Draws:
    """Every random draw behind one clip; :func:`simulate` is a function of these alone."""

    seed: int
    weather: str
    street_cleaned: bool
    u_surface: float  # uniform in [0, 1): whether the road is wet given weather and cleaning
    temperature: float  # °C
    u_tyre: float  # friction variation of tyres and asphalt
    slope: float  # grade, positive downhill
    speed: float  # m/s at t = 0
    distance: float  # metres from the car's front to the stop line at t = 0
    vehicle: str  # the car's type
    colour: str
    light: str  # the light at t = 0: a red or yellow light has just turned, a green one turns later
    green_left: float  # s a green light stays green after t = 0
    reaction: float  # s
    lapse: float  # s added to the first reaction (0 for most drivers)
    brake_rise: float  # s for the brakes to reach the deceleration asked
    pedestrian: bool
    pedestrian_side: str  # "near" or "far" kerb
    pedestrian_kind: str  # "walk", "hesitate", "run"
    pedestrian_speed: float  # m/s
    pedestrian_enter: float  # s when the pedestrian steps onto the road (negative: before t = 0)
    pedestrian_x: float  # metres along the crosswalk
    pedestrian_pause: float  # s a hesitating pedestrian stands at the centre line
    others: tuple[Other, ...] = ()

    @classmethod
    def sample(cls, seed: int) -> Draws:
        """The draws of clip ``seed`` (any non-negative integer)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidInputError(f"seed must be a non-negative integer, found {seed!r}")
        rng = np.random.default_rng([int(seed), 0x51A1])
        weather = WEATHERS[int(rng.choice(3, p=[0.55, 0.25, 0.20]))]
        light = LIGHTS[int(rng.choice(3, p=[0.40, 0.10, 0.50]))]
        kind = PEDESTRIAN_KINDS[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
        vehicle = ("car", "truck", "bus")[int(rng.integers(3))]
        colours = ("red", "blue", "green", "yellow", "white", "black", "orange", "silver")
        ped_speed = float(rng.uniform(2.8, 3.8)) if kind == "run" else float(rng.normal(1.35, 0.15))
        draws = cls(
            seed=int(seed),
            weather=weather,
            street_cleaned=bool(rng.random() < 0.1),
            u_surface=float(rng.random()),
            temperature=float(rng.normal(12.0, 8.0)),
            u_tyre=float(rng.normal(0.0, 0.04)),
            slope=float(np.clip(rng.normal(0.0, 0.02), -0.06, 0.06)),
            speed=float(rng.uniform(8.0, 17.0)),
            distance=float(rng.uniform(10.0, 60.0)),
            vehicle=vehicle,
            colour=colours[int(rng.integers(len(colours)))],
            light=light,
            green_left=float(rng.uniform(1.0, 10.0)),
            reaction=float(np.exp(rng.normal(math.log(0.9), 0.25))),
            lapse=float(rng.uniform(0.5, 2.0)) if rng.random() < 1 / 12 else 0.0,
            brake_rise=float(rng.uniform(0.15, 0.35)),
            pedestrian=bool(rng.random() < 0.45),
            pedestrian_side=("near", "far")[int(rng.integers(2))],
            pedestrian_kind=kind,
            pedestrian_speed=max(0.8, ped_speed),
            pedestrian_enter=float(rng.uniform(-5.0, 4.0)),
            pedestrian_x=float(rng.uniform(1.0, 4.0)),
            pedestrian_pause=float(rng.uniform(0.8, 2.5)),
            others=_others(rng, colours),
        )
        return draws

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _others(rng: np.random.Generator, colours: tuple[str, ...]) -> tuple[Other, ...]:
    def kind() -> tuple[str, str]:
        return ("car", "truck", "bus")[int(rng.integers(3))], colours[int(rng.integers(len(colours)))]

    # Queued behind the car (x0 is the gap behind its rear), then oncoming in the far lane.
    queued = [
        Other(*kind(), "near", float(rng.uniform(8.0, 25.0)), 0.0) for _ in range(int(rng.integers(0, 2)))
    ]
    oncoming = [
        Other(*kind(), "far", float(rng.uniform(-75.0, 10.0)), float(rng.uniform(8.0, 15.0)))
        for _ in range(int(rng.integers(0, 3)))
    ]
    return (*queued, *oncoming)


#: What :func:`simulate` accepts as an intervention, and on which draw it acts.
INTERVENTIONS: Mapping[str, str] = {
    "weather": "the weather (the road's wetness follows through the same draw)",
    "surface": "the road surface, 'dry' or 'wet'",
    "temperature": "°C",
    "slope": "grade, positive downhill",
    "light": "the light at t = 0, 'red', 'yellow' or 'green' (its timing draws kept)",
    "speed": "m/s at t = 0",
    "distance": "metres to the stop line at t = 0",
    "react_earlier": "seconds by which the driver reacts earlier (negative: later)",
    "pedestrian": "whether a pedestrian crosses (True/False)",
}


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at a time: ``kind`` is one of light-change, braking-onset, stop,
    pedestrian-enters-crosswalk, collision; ``detail`` the new light state or empty."""

    kind: str
    time: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class State:
    """The street at one instant (what a frame shows)."""

    time: float
    light: str
    car_x: float  # the car's front, metres (stop line at 0)
    car_speed: float
    car_decel: float
    braking: bool
    pedestrian: tuple[float, float] | None  # (x, y) on or beside the road, None when absent
    others: tuple[float, ...]  # each other vehicle's front, metres


@dataclass(frozen=True, slots=True)
class Run:
    """One simulated clip: the draws, the interventions, the outcome and the states every step."""

    draws: Draws
    do: Mapping[str, Any]
    surface: str
    friction: float
    max_decel: float
    stopped: bool  # the car came to rest before the stop line and hit nobody
    collision: bool
    stop_x: float | None  # where the car's front came to rest, metres (None: it did not stop)
    events: tuple[Event, ...]
    states: tuple[State, ...] = field(repr=False, compare=False)

    def state_at(self, time: float) -> State:
        """The state at ``time`` seconds (the step at or just before it)."""
        i = min(len(self.states) - 1, max(0, round(time / DT)))
        return self.states[i]

    def frames(self, fps: float, *, duration: float) -> Iterator[State]:
        """The states a camera at ``fps`` sees over the first ``duration`` seconds."""
        n = round(duration * fps)
        for k in range(n):
            yield self.state_at(k / fps)

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    @property
    def pedestrian_on_crosswalk(self) -> bool:
        """Whether a pedestrian is on the road within the crosswalk at t = 0."""
        p = self.states[0].pedestrian
        return p is not None and 0.0 <= p[1] <= ROAD_WIDTH_M

    def still_values(self) -> dict[str, Any]:
        """What a still picture at t = 0 shows, by the crossing SCM's variable names."""
        s = self.states[0]
        return {
            "Weather": self.draws.weather,
            "Road": self.surface,
            "Light": s.light,
            "DistanceToCrosswalk": -s.car_x,
            "Speed": s.car_speed,
            "DriverBrakes": int(s.braking),
            "PedestrianOnCrosswalk": int(self.pedestrian_on_crosswalk),
        }


def _surface(draws: Draws) -> str:
    p_weather = {"clear": 0.02, "cloudy": 0.10, "rain": 0.95}[draws.weather]
    p_wet = 1.0 - (1.0 - p_weather) * (1.0 - (0.9 if draws.street_cleaned else 0.0))
    return "wet" if draws.u_surface < p_wet else "dry"


def _friction(surface: str, temperature: float, u_tyre: float) -> float:
    if surface == "wet" and temperature <= 0.0:
        return max(0.08, 0.15 + u_tyre / 2)  # ice
    base = 0.80 if surface == "dry" else 0.50
    cold = 0.008 * max(0.0, 5.0 - temperature)  # hardened tyres
    return float(np.clip(base - cold + u_tyre, 0.1, 1.1))


def _light_at(draws: Draws, time: float) -> str:
    if draws.light == "red":
        return "red"
    if draws.light == "yellow":
        return "yellow" if time < YELLOW_S else "red"
    if time < draws.green_left:
        return "green"
    return "yellow" if time < draws.green_left + YELLOW_S else "red"


def _changes(draws: Draws) -> list[tuple[float, str]]:
    """(time, state) of each light state the driver must see: the one at t = 0 first."""
    if draws.light == "red":
        return [(0.0, "red")]
    if draws.light == "yellow":
        return [(0.0, "yellow"), (YELLOW_S, "red")]
    return [(-60.0, "green"), (draws.green_left, "yellow"), (draws.green_left + YELLOW_S, "red")]


def _check(do: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in do.items():
        if name not in INTERVENTIONS:
            raise UnknownNameError("intervention", name, sorted(INTERVENTIONS))
        choices = {"weather": WEATHERS, "surface": SURFACES, "light": LIGHTS}.get(name)
        if choices is not None and value not in choices:
            raise UnknownNameError(f"value of {name}", str(value), choices)
        if name in ("temperature", "slope", "speed", "distance", "react_earlier"):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidInputError(f"intervention {name} must be a number, found {value!r}") from None
            if not math.isfinite(value) or (name in ("speed", "distance") and value < 0):
                raise InvalidInputError(f"intervention {name} must be a finite number ≥ 0, found {value!r}")
        if name == "pedestrian":
            value = bool(value)
        out[name] = value
    return out


def simulate(draws: Draws, **do: Any) -> Run:
    """Run the clip of ``draws`` for 15 s of street time, under the interventions ``do``.

    ``do`` names draws to set (:data:`INTERVENTIONS`); everything else is the clip's own draws.
    """
    do = _check(do)
    changed = {k: v for k, v in do.items() if k in ("weather", "temperature", "slope", "speed", "distance")}
    if "light" in do:
        changed["light"] = do["light"]
    if "pedestrian" in do:
        changed["pedestrian"] = do["pedestrian"]
    d = replace(draws, **changed)
    surface = do.get("surface") or _surface(d)
    mu = _friction(surface, d.temperature, d.u_tyre)
    theta = math.atan(d.slope)
    a_max = min(_CAP, _ABS * mu * G * math.cos(theta) - G * math.sin(theta))
    a_max = max(a_max, 0.5)
    pull = G * math.sin(theta)  # downhill pull when not braking is held by the driver's throttle
    length = _LENGTH_M[d.vehicle]
    reaction = max(0.1, d.reaction + d.lapse - float(do.get("react_earlier", 0.0)))

    # The driver acts on each light state `reaction` s after it shows; the first perception
    # carries the lapse, later ones the bare reaction time.
    percepts = []
    for k, (t, state) in enumerate(_changes(d)):
        delay = reaction if k == 0 else max(0.1, d.reaction - float(do.get("react_earlier", 0.0)))
        percepts.append((t + delay, state))

    x, v = -d.distance, d.speed
    braking_since: float | None = None
    decided_go = False
    stopped = collided = False
    stop_x: float | None = None
    light = _light_at(d, 0.0)
    events = [Event("light-change", 0.0, light)] if light != "green" else []
    states: list[State] = []
    ped = d.pedestrian
    ped_y0, ped_dir = (-1.0, 1.0) if d.pedestrian_side == "near" else (ROAD_WIDTH_M + 1.0, -1.0)
    ped_entered = False
    steps = round(HORIZON_S / DT)
    done = 0  # perceptions acted on
    for i in range(steps + 1):
        t = i * DT
        now = _light_at(d, t)
        if now != light:
            events.append(Event("light-change", t, now))
            light = now
        # The driver: act on perceptions whose time has come.
        while done < len(percepts) and percepts[done][0] <= t:
            _, seen = percepts[done]
            done += 1
            if braking_since is not None or x >= 0 or collided:
                continue
            if seen == "red" and not decided_go:
                braking_since = t
            elif seen == "yellow":
                if v * v / (2 * _COMFORT) <= -x - _STOP_MARGIN_M:
                    braking_since = t
                else:
                    decided_go = True
            if braking_since is not None and braking_since == t:
                events.append(Event("braking-onset", t))
        # The car.
        decel = 0.0
        if braking_since is not None and v > 0 and not collided:
            room = -x - _STOP_MARGIN_M
            # The deceleration that stops the car at its mark (a firm minimum lets it come to
            # rest); at or past the mark, all the tyres give.
            demand = max(v * v / (2 * room), 0.8) if room > 0.3 else a_max
            ramp = min(1.0, (t + DT / 2 - braking_since) / d.brake_rise)
            decel = min(demand, a_max) * ramp
        # The pedestrian.
        p = None
        if ped:
            tau = t - d.pedestrian_enter
            travelled = max(0.0, tau) * d.pedestrian_speed
            if d.pedestrian_kind == "hesitate":
                half = ROAD_WIDTH_M / 2 + 1.0
                if travelled > half:
                    travelled = max(half, (tau - d.pedestrian_pause) * d.pedestrian_speed)
            if collided:
                p = states[-1].pedestrian if states else None
            else:
                y = ped_y0 + ped_dir * travelled
                if -1.5 <= y <= ROAD_WIDTH_M + 1.5:
                    p = (d.pedestrian_x, y)
            if p is not None and 0.0 <= p[1] <= ROAD_WIDTH_M and not ped_entered:
                ped_entered = True
                events.append(Event("pedestrian-enters-crosswalk", max(t, 0.0)))
        others = tuple(_other_x(o, x, length, t) for o in d.others)
        states.append(State(t, light, x, v, decel, braking_since is not None, p, others))
        # Collision by geometry.
        if p is not None and not collided:
            lo, hi = _CAR_Y
            if x - length - _PED_R <= p[0] <= x + _PED_R and lo - _PED_R <= p[1] <= hi + _PED_R:
                collided = True
                events.append(Event("collision", t))
                v = 0.0
        # Integrate.
        if v > 0 and not collided:
            a = -decel + (pull if decel > 0 else 0.0)
            v_next = v + a * DT
            if v_next <= 0:
                x += v * v / (2 * max(-a, 1e-9)) if a < 0 else 0.0
                v = 0.0
                stop_x = x
                events.append(Event("stop", t + DT))
            else:
                x += (v + v_next) / 2 * DT
                v = v_next
    stopped = stop_x is not None and stop_x <= 0.0 and not collided
    return Run(
        draws=draws,
        do=dict(do),
        surface=surface,
        friction=mu,
        max_decel=a_max,
        stopped=stopped,
        collision=collided,
        stop_x=stop_x,
        events=tuple(sorted(events, key=lambda e: e.time)),
        states=tuple(states),
    )


def _other_x(other: Other, car_x: float, car_length: float, t: float) -> float:
    if other.lane == "near":
        return car_x - car_length - other.x0  # queued: keeps its gap behind the car
    return other.x0 - other.speed * t
