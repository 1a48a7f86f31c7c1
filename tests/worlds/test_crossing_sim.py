"""The crossing simulator: known answers derived by hand from its physics, and its re-runs."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from mmreason.errors import InvalidInputError, UnknownNameError
from mmreason.worlds.crossing.sim import CROSSWALK_M, Draws, simulate

G = 9.81


def _calm(**changes: object) -> Draws:
    """A clip with every nuisance switched off: flat, 20 °C, no lapse, no pedestrian, nobody else."""
    base = replace(
        Draws.sample(0),
        weather="clear",
        street_cleaned=False,
        u_surface=0.99,
        temperature=20.0,
        u_tyre=0.0,
        slope=0.0,
        lapse=0.0,
        reaction=1.0,
        brake_rise=0.2,
        pedestrian=False,
        others=(),
        vehicle="car",
    )
    return replace(base, **changes)


def _hand_stop(v0: float, a: float, rise: float) -> float:
    """Distance from braking onset to rest: a linear ramp to ``a`` over ``rise`` s, then ``a``."""
    v1 = v0 - a * rise / 2
    return v0 * rise - a * rise**2 / 6 + v1 * v1 / (2 * a)


def test_friction_limited_stop_matches_the_hand_derivation() -> None:
    # 17 m/s, 25 m out, red: 17 m of reaction, then a stop at 0.9·μ·g with μ = 0.80 on dry asphalt.
    run = simulate(_calm(light="red", speed=17.0, distance=25.0))
    a = 0.9 * 0.80 * G
    assert run.max_decel == pytest.approx(a)
    assert run.first("braking-onset").time == pytest.approx(1.0, abs=0.011)
    expected = -25.0 + 17.0 * 1.0 + _hand_stop(17.0, a, 0.2)
    assert run.stop_x == pytest.approx(expected, abs=0.2)
    assert not run.stopped  # it comes to rest past the stop line


def test_a_driver_with_room_stops_half_a_metre_short_of_the_line() -> None:
    # 41 m after reacting need only 1.23 m/s²; the firm 0.8 m/s² minimum at the end brings it to
    # rest a little before its mark.
    run = simulate(_calm(light="red", speed=10.0, distance=50.0))
    assert run.stopped and -1.0 <= run.stop_x <= -0.45


def test_wet_downhill_and_ice_lower_the_deceleration_by_their_formulas() -> None:
    wet = simulate(_calm(light="red"), surface="wet")
    assert wet.friction == pytest.approx(0.50) and wet.max_decel == pytest.approx(0.9 * 0.5 * G)
    theta = math.atan(0.05)
    down = simulate(_calm(light="red", slope=0.05))
    assert down.max_decel == pytest.approx(0.9 * 0.8 * G * math.cos(theta) - G * math.sin(theta))
    ice = simulate(_calm(light="red", temperature=-3.0), surface="wet")
    assert ice.friction == pytest.approx(0.15)
    cold = simulate(_calm(light="red", temperature=0.0), surface="dry")
    assert cold.friction == pytest.approx(0.80 - 0.008 * 5.0)


def test_braking_earlier_moves_the_onset_by_exactly_that_much() -> None:
    # 15 m/s from 30 m: after 1 s, 14.5 m to the mark needs 7.76 m/s², more than the 7.06 the tyres
    # give, so the car overruns; half a second earlier 22 m need 5.11 m/s² and it stops at its mark.
    draws = _calm(light="red", speed=15.0, distance=30.0)
    late, early = simulate(draws), simulate(draws, react_earlier=0.5)
    assert late.first("braking-onset").time - early.first("braking-onset").time == pytest.approx(
        0.5, abs=0.011
    )
    assert late.stop_x == pytest.approx(-30.0 + 15.0 + _hand_stop(15.0, 0.9 * 0.8 * G, 0.2), abs=0.2)
    assert not late.stopped
    assert early.stopped and -1.0 <= early.stop_x <= -0.45


def test_yellow_stops_only_when_a_comfortable_stop_fits() -> None:
    # At 3 m/s²: 10 m/s needs 16.7 m; after a 1 s reaction 40 m leaves 30 m (stop), 20 m leaves 10 m (go).
    assert simulate(_calm(light="yellow", speed=10.0, distance=40.0)).stopped
    go = simulate(_calm(light="yellow", speed=10.0, distance=20.0))
    assert not go.stopped and go.first("braking-onset") is None


def test_green_light_changes_during_the_clip_and_is_acted_on() -> None:
    run = simulate(_calm(light="green", green_left=2.0, speed=10.0, distance=60.0))
    changes = [(e.time, e.detail) for e in run.events if e.kind == "light-change"]
    assert changes[0] == pytest.approx((2.0, "yellow"), abs=0.011)
    assert changes[1][1] == "red" and changes[1][0] == pytest.approx(5.0, abs=0.011)
    assert run.first("braking-onset").time == pytest.approx(3.0, abs=0.011)
    assert run.stopped


def test_collision_is_geometry_and_a_re_run_without_the_pedestrian_has_none() -> None:
    # Green for the whole clip, 10 m/s from 30 m: the front comes within the walker's 0.3 m of
    # x = 2 m at (30 + 1.7) / 10 = 3.17 s. A walker stepping off the near kerb (y = -1) at 1.0 s at
    # 1.35 m/s is then at y = -1 + 1.35 * 2.17 = 1.93, inside the car's band [0.55, 2.95].
    draws = _calm(
        light="green",
        green_left=30.0,
        speed=10.0,
        distance=30.0,
        pedestrian=True,
        pedestrian_side="near",
        pedestrian_kind="walk",
        pedestrian_speed=1.35,
        pedestrian_enter=1.0,
        pedestrian_x=2.0,
    )
    run = simulate(draws)
    assert run.collision and run.first("collision").time == pytest.approx(3.17, abs=0.011)
    assert not simulate(draws, pedestrian=False).collision
    assert not simulate(draws, light="red").collision  # it stops short of the crosswalk instead


def test_re_runs_keep_every_draw_and_the_seed_fixes_the_clip() -> None:
    draws = Draws.sample(123)
    assert simulate(draws, surface="dry").draws == draws == Draws.sample(123)
    assert simulate(draws) == simulate(Draws.sample(123))
    states = list(simulate(draws).frames(12.5, duration=4.0))
    assert len(states) == 50 and states[1].time == pytest.approx(0.08)


def test_a_stopped_car_never_enters_the_crosswalk() -> None:
    for seed in range(200):
        run = simulate(Draws.sample(seed))
        if run.stopped:
            assert max(s.car_x for s in run.states) <= 0.0
        if run.collision:
            hit = run.state_at(run.first("collision").time)
            assert hit.car_x > 0.0 and hit.car_x - 11.0 < CROSSWALK_M


def test_bad_interventions_are_refused_by_name() -> None:
    draws = Draws.sample(1)
    with pytest.raises(UnknownNameError, match="friction"):
        simulate(draws, friction=0.3)
    with pytest.raises(UnknownNameError, match="icy"):
        simulate(draws, surface="icy")
    with pytest.raises(InvalidInputError, match="speed"):
        simulate(draws, speed=-3)
    with pytest.raises(InvalidInputError, match="seed"):
        Draws.sample(-1)
