import dataclasses

import pytest

from mmreason import InvalidInputError
from mmreason.causal import SCM
from mmreason.causal.bindings import Bindings
from mmreason.qa.evidence import LIKELIHOOD_FLOOR, _within_bounds, scene_evidence
from mmreason.worlds import resolve_world
from mmreason.worlds.crossing import MR
from tests.qa.scenes import DISTANCE, LAMPS, SCENE, SPEED

WORLD = resolve_world("crossing")
# The subclass closure the KG would give, by hand.
CLOSURE = {
    str(MR.Vehicle): frozenset({str(MR.Vehicle), str(MR.Car), str(MR.Truck), str(MR.Bus)}),
    str(MR.Pedestrian): frozenset({str(MR.Pedestrian)}),
    str(MR.TrafficLight): frozenset({str(MR.TrafficLight)}),
}


def subclasses(cls):
    return CLOSURE.get(cls, frozenset({cls}))


def evidence(scene, bindings, **kwargs):
    return scene_evidence(scene, bindings, subclasses=subclasses, **kwargs)


def with_object(index, obj):
    objects = list(SCENE.objects)
    objects[index] = obj
    return dataclasses.replace(SCENE, objects=tuple(objects))


@pytest.fixture(scope="module")
def crossing():
    scm = SCM.from_file(WORLD.scm, device="cpu")
    return scm, Bindings.from_file(WORLD.bindings, scm=scm)


@pytest.mark.parametrize(
    ("reading", "value"),
    [(25.0, 25.0), (10.0, 10.0), (9.9, 10.0), (9.875, 10.0), (60.1, 60.0), (9.8, None), (75.0, None)],
)
def test_readings_within_resolution_of_a_bound_take_the_bound(reading, value):
    assert _within_bounds(reading, (10.0, 60.0), 0.125)[0] == value


def test_scene_attributes_become_likelihoods(crossing):
    _, bindings = crossing
    found = evidence(SCENE, bindings, bounds={"DistanceToCrosswalk": (10.0, 60.0)})
    assert found.soft_evidence["Weather"]["rain"] == pytest.approx(0.9)
    # The other weathers share what CLIP left: (1 - 0.9) / 2 each.
    assert found.soft_evidence["Weather"]["clear"] == pytest.approx(0.05)
    assert found.soft_evidence["Road"] == pytest.approx({"wet": 0.8, "dry": 0.2})
    assert found.soft_evidence["PedestrianOnCrosswalk"] == pytest.approx({0: 0.01, 1: 0.99})
    # The nearest approaching vehicle (12.5 m, 12.25 m/s) sets the distance and speed as hard evidence.
    assert found.evidence == {"DistanceToCrosswalk": 12.5, "Speed": 12.25}


def test_a_reading_just_outside_the_range_is_clamped_and_said(crossing):
    _, bindings = crossing
    scene = with_object(1, SCENE.objects[1].with_measures({DISTANCE: 9.875}))
    found = evidence(scene, bindings, bounds={"DistanceToCrosswalk": (10.0, 60.0)})
    assert found.evidence["DistanceToCrosswalk"] == 10.0
    assert any("within the reading resolution" in s.detail for s in found.steps)


def test_no_pedestrian_on_the_crosswalk_keeps_a_floor(crossing):
    _, bindings = crossing
    scene = dataclasses.replace(SCENE, relations=())
    found = evidence(scene, bindings)
    assert found.soft_evidence["PedestrianOnCrosswalk"] == {0: 1.0, 1: LIKELIHOOD_FLOOR}


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"DistanceToCrosswalk": {"resolution": -1}}, "resolution: expected a positive number"),
        ({"Road": {"resolution": 0.1}}, "resolution: expected a positive number for a real-valued"),
        ({"Road": {"values": {"icy": "mr:wet"}}}, r"'icy' is not in the domain \['dry', 'wet'\]"),
        ({"Road": {"kg": {"scene": "zz:surface"}}}, "variables.Road.kg.scene: unknown prefix 'zz'"),
        ({"Road": {"kg": {"object": "mr:Road"}}}, "needs property"),
        (
            {"Speed": {"kg": {"object": "mr:Car", "property": "mr:speed", "pick": "nearest"}}},
            r"variables.Speed.kg.pick: expected \{ least",
        ),
        ({"Road": {"but_for": {"value": "icy"}}}, r"variables.Road.but_for: 'icy' is not in the domain"),
        ({"Road": {"but_for": {"shift": 1.0}}}, r"variables.Road.but_for: expected \{ value = "),
        (
            {"Speed": {"but_for": {"value": "slow"}}},
            r"variables.Speed.but_for: expected \{ shift = amount \}",
        ),
        (
            {"Speed": {"but_for": {"shift": 0}}},
            r"variables.Speed.but_for: expected \{ shift = amount \} \(not 0\)",
        ),
    ],
)
def test_bad_bindings_name_the_field(crossing, table, match):
    scm, _ = crossing
    with pytest.raises(InvalidInputError, match=match):
        Bindings.from_dict({"variables": table}, scm=scm, path="b.toml", prefixes=WORLD.prefixes)


def test_bindings_use_the_ontologys_own_prefixes(crossing):
    scm, _ = crossing
    prefixes = {"g": "http://example.org/garden#"}
    bound = Bindings.from_dict(
        {"variables": {"Road": {"kg": {"scene": "g:surface"}, "values": {"wet": "g:wet"}}}},
        scm=scm,
        prefixes=prefixes,
    )
    assert str(bound["Road"].source.property) == "http://example.org/garden#surface"
    # Without the world's prefixes, "g:" is not known, and the message says which are.
    with pytest.raises(InvalidInputError, match=r"unknown prefix 'g'.*known: .*mm"):
        Bindings.from_dict({"variables": {"Road": {"kg": {"scene": "g:surface"}}}}, scm=scm)


def test_bindings_for_an_unknown_variable_are_refused(crossing):
    scm, _ = crossing
    with pytest.raises(KeyError, match="'Rood' is not in the SCM 'crossing'"):
        Bindings.from_dict({"variables": {"Rood": {}}}, scm=scm, path="b.toml")


def test_the_nearest_vehicles_speed_is_evidence_and_its_lamps_are_not(crossing):
    _, bindings = crossing
    # The nearest vehicle (12.5 m) shows lit lamps (p 0.97) at 12.25 m/s; the farther car's are off.
    # The lamps of one instant are not the driver's response to the light (DriverBrakes is unbound).
    near, far = SCENE.objects[1], SCENE.objects[0]
    assert near.attribute(LAMPS).concept.name == "brakeLightsOn"
    assert far.attribute(LAMPS).concept.name == "brakeLightsOff"
    bounds = {"DistanceToCrosswalk": (10.0, 60.0), "Speed": (8.0, 17.0)}
    found = evidence(SCENE, bindings, bounds=bounds, units={DISTANCE: "m", SPEED: "m/s"})
    assert found.evidence == {"DistanceToCrosswalk": 12.5, "Speed": 12.25}
    assert "DriverBrakes" not in found.soft_evidence and "DriverBrakes" not in found.evidence
    assert any(s.detail.startswith("Speed = 12.25 m/s") for s in found.steps)
    # A reading of 17.5 m/s is off the model's range by more than the resolution: not used, and said.
    scene = with_object(1, near.with_measures({SPEED: 17.5}))
    found = evidence(scene, bindings, bounds=bounds)
    assert "Speed" not in found.evidence
    assert any("Speed read as 17.500" in s.detail and "not used" in s.detail for s in found.steps)


def test_the_light_binding_reads_the_likeliest_traffic_light(crossing):
    _, bindings = crossing
    found = evidence(SCENE, bindings)
    # Read without a distribution: red at 0.95, the other two states share the rest.
    assert found.soft_evidence["Light"] == pytest.approx({"red": 0.95, "yellow": 0.025, "green": 0.025})
