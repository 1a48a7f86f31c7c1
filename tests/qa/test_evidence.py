import dataclasses

import pytest

from mmreason import InvalidInputError
from mmreason.causal import SCM
from mmreason.causal.bindings import Bindings
from mmreason.paths import bundled_graphs_dir
from mmreason.qa.evidence import LIKELIHOOD_FLOOR, _within_bounds, scene_evidence
from tests.qa.test_executor import SCENE


@pytest.fixture(scope="module")
def crossing():
    scm = SCM.from_file(bundled_graphs_dir() / "crossing.scm.toml", device="cpu")
    return scm, Bindings.from_file(bundled_graphs_dir() / "crossing.bindings.toml", scm=scm)


PEDESTRIANS = {
    "http://mmreason.org/crossing#Pedestrian": frozenset({"http://mmreason.org/crossing#Pedestrian"})
}


@pytest.mark.parametrize(
    ("reading", "value"),
    [(25.0, 25.0), (10.0, 10.0), (9.9, 10.0), (9.875, 10.0), (60.1, 60.0), (9.8, None), (75.0, None)],
)
def test_readings_within_resolution_of_a_bound_take_the_bound(reading, value):
    assert _within_bounds(reading, (10.0, 60.0), 0.125)[0] == value


def test_scene_attributes_become_likelihoods(crossing):
    _, bindings = crossing
    found = scene_evidence(
        SCENE, bindings, type_iris=PEDESTRIANS, bounds={"DistanceToCrosswalk": (10.0, 60.0)}
    )
    assert found.soft_evidence["Weather"]["rain"] == pytest.approx(0.9)
    # The other weathers share what CLIP left: (1 - 0.9) / 2 each.
    assert found.soft_evidence["Weather"]["clear"] == pytest.approx(0.05)
    assert found.soft_evidence["Road"] == pytest.approx({"wet": 0.8, "dry": 0.2})
    assert found.soft_evidence["PedestrianOnCrosswalk"] == pytest.approx({0: 0.01, 1: 0.99})
    # The nearest approaching vehicle (12.5 m, 12.25 m/s) sets the distance and speed as hard evidence.
    assert found.evidence == {"DistanceToCrosswalk": 12.5, "Speed": 12.25}


def test_a_reading_just_outside_the_range_is_clamped_and_said(crossing):
    _, bindings = crossing
    near = dataclasses.replace(SCENE.objects[1], distance_to_crosswalk=9.875)
    scene = dataclasses.replace(SCENE, objects=(SCENE.objects[0], near, *SCENE.objects[2:]))
    found = scene_evidence(
        scene, bindings, type_iris=PEDESTRIANS, bounds={"DistanceToCrosswalk": (10.0, 60.0)}
    )
    assert found.evidence["DistanceToCrosswalk"] == 10.0
    assert any("within the reading resolution" in s.detail for s in found.steps)


def test_no_pedestrian_on_the_crosswalk_keeps_a_floor(crossing):
    _, bindings = crossing
    scene = dataclasses.replace(SCENE, objects=SCENE.objects[:3])
    found = scene_evidence(scene, bindings, type_iris=PEDESTRIANS)
    assert found.soft_evidence["PedestrianOnCrosswalk"] == {0: 1.0, 1: LIKELIHOOD_FLOOR}


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"DistanceToCrosswalk": {"resolution": -1}}, "resolution: expected a positive number"),
        ({"Road": {"resolution": 0.1}}, "resolution: expected a positive number for a real-valued"),
        ({"Road": {"values": {"icy": "mr:wet"}}}, r"'icy' is not in the domain \['dry', 'wet'\]"),
        ({"Road": {"kg": {"scene": "zz:surface"}}}, "unknown prefix 'zz'"),
        ({"Road": {"kg": {"object": "mr:Road"}}}, "needs property"),
    ],
)
def test_bad_bindings_name_the_field(crossing, table, match):
    scm, _ = crossing
    with pytest.raises(InvalidInputError, match=match):
        Bindings.from_dict({"variables": table}, scm=scm, path="b.toml")


def test_bindings_for_an_unknown_variable_are_refused(crossing):
    scm, _ = crossing
    with pytest.raises(KeyError, match="'Rood' is not in the SCM 'crossing'"):
        Bindings.from_dict({"variables": {"Rood": {}}}, scm=scm, path="b.toml")


def test_the_nearest_vehicles_speed_and_brake_lights_are_evidence(crossing):
    _, bindings = crossing
    # The nearest vehicle (12.5 m) brakes (p 0.97) at 12.25 m/s; the farther car's lamps are off.
    near, far = SCENE.objects[1], SCENE.objects[0]
    assert near.braking is True and far.braking is False
    bounds = {"DistanceToCrosswalk": (10.0, 60.0), "Speed": (8.0, 17.0)}
    found = scene_evidence(SCENE, bindings, type_iris=PEDESTRIANS, bounds=bounds)
    assert found.evidence == {"DistanceToCrosswalk": 12.5, "Speed": 12.25}
    # Two values: the one CLIP did not pick gets the rest.
    assert found.soft_evidence["DriverBrakes"] == pytest.approx({1: 0.97, 0: 0.03})
    assert any("brakeLights on" in s.detail for s in found.steps)
    assert any(s.detail.startswith("Speed = 12.25 m/s") for s in found.steps)
    # A reading of 17.5 m/s is off the model's range by more than the resolution: not used, and said.
    fast = dataclasses.replace(near, speed=17.5)
    scene = dataclasses.replace(SCENE, objects=(far, fast, *SCENE.objects[2:]))
    found = scene_evidence(scene, bindings, type_iris=PEDESTRIANS, bounds=bounds)
    assert "Speed" not in found.evidence
    assert any("Speed read as 17.500" in s.detail and "not used" in s.detail for s in found.steps)
