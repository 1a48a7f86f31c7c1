"""The crossing world: determinism, the SCM drives the scene, geometry by the world scale, RDF."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import RDF, RDFS

from mmreason.errors import InvalidInputError, UnknownNameError
from mmreason.kg.vocab import MM
from mmreason.paths import bundled_graphs_dir
from mmreason.vision.labels import write_renders
from mmreason.worlds import resolve_world
from mmreason.worlds.crossing import (
    COLOURS,
    HEIGHT,
    LAYOUT,
    PIXELS_PER_METRE,
    TRAIL_COLOUR,
    VEHICLE_TYPES,
    WIDTH,
    crossing_scm,
    read_trail,
    render_scene,
    render_values,
)
from mmreason.worlds.crossing.namespace import MR

ROW = {
    "Weather": "rain",
    "Road": "wet",
    "Light": "red",
    "DistanceToCrosswalk": 20.0,
    "PedestrianOnCrosswalk": 1,
}


def test_same_seed_same_image_and_truth():
    a_image, a_truth = render_scene(123)
    b_image, b_truth = render_scene(123)
    assert a_image.tobytes() == b_image.tobytes()
    assert a_truth == b_truth
    assert render_scene(124)[0].tobytes() != a_image.tobytes()


def test_truth_values_are_the_scm_unit_of_the_seed():
    # Differential: the hidden values are exactly the SCM's sample for that seed, noise terms included.
    _, truth = render_scene(31)
    row = crossing_scm().sample(1, seed=31).iloc[0]
    assert set(truth.values) == {str(k) for k in row.index}
    assert any(k.startswith("U_") for k in truth.values)
    for name, value in row.items():
        if isinstance(value, str):
            assert truth.values[name] == value
        else:
            assert truth.values[name] == pytest.approx(float(value))
    assert (truth.weather, truth.road, truth.light) == (row["Weather"], row["Road"], row["Light"])
    assert truth.distance_to_crosswalk == pytest.approx(row["DistanceToCrosswalk"])


def test_interventions_reach_the_scene():
    _, truth = render_scene(5, Weather="rain", Light="green")
    assert (truth.weather, truth.light) == ("rain", "green")


def test_nearest_vehicle_is_drawn_at_the_distance_by_the_world_scale():
    # Known answer: 20 m before the crosswalk at 8 px/m puts the front bumper at x = 560 - 160 = 400.
    _, truth = render_values(ROW, seed=3)
    nearest = [o for o in truth.objects if o.nearest]
    assert len(nearest) == 1 and nearest[0].type in VEHICLE_TYPES
    assert nearest[0].bbox[2] == 400 == LAYOUT.crosswalk_x0 - round(20.0 * PIXELS_PER_METRE)
    assert [o.type for o in truth.objects if o.on_crosswalk] == ["pedestrian"]
    _, no_walker = render_values({**ROW, "PedestrianOnCrosswalk": 0}, seed=3)
    assert not any(o.on_crosswalk for o in no_walker.objects)


def test_speed_is_drawn_as_streaks_by_the_world_scale():
    # Known answer: 12.5 m/s over a 0.5 s exposure is 6.25 m, at 8 px/m 50 px of streak behind the rear,
    # two pixels of road between them; the lamp at the rear is lit because the driver brakes.
    image, truth = render_values({**ROW, "Speed": 12.5, "DriverBrakes": 1}, seed=3)
    car = next(o for o in truth.objects if o.nearest)
    assert (car.speed, car.braking, car.trail_px) == (12.5, True, 50)
    x0, _, _, y1 = car.bbox
    wheel = 5 if car.type == "car" else 6
    row = np.asarray(image)[y1 - wheel - 6]
    streak = [x for x in range(x0) if tuple(row[x]) == TRAIL_COLOUR]
    assert streak == list(range(x0 - 2 - 50, x0 - 2))
    assert read_trail(image, car.bbox) == 50
    lamp = np.asarray(image)[y1 - wheel - 6, x0 + 1]
    assert lamp[0] == 255 and lamp[1] < 100  # lit: bright red
    unlit, _ = render_values({**ROW, "Speed": 12.5, "DriverBrakes": 0}, seed=3)
    assert np.asarray(unlit)[y1 - wheel - 6, x0 + 1][0] < 150  # dark red


def test_every_vehicle_is_drawn_inside_its_box():
    # The column just outside each end of a vehicle's box holds none of its outline (the box is
    # what training crops and what region proposals find, so they must agree).
    outline = np.array([15, 15, 15])
    for seed in range(60):
        image, truth = render_scene(seed)
        pixels = np.asarray(image).astype(int)
        for o in truth.objects:
            if o.type not in VEHICLE_TYPES:
                continue
            x0, y0, x1, y1 = o.bbox
            for x in (x0 - 1, x1):
                if 0 <= x < WIDTH:
                    column = pixels[y0:y1, x]
                    assert not (np.abs(column - outline).max(axis=1) == 0).any(), (seed, o)


def test_a_shorter_streak_is_read_when_the_longest_leaves_the_picture():
    # 58 m away, the car's rear is at most 96 px from the left edge: 10-17 m/s (40-68 px) fit
    # for some vehicles and not for others. The streaks 6 and 10 rows above the body's bottom are 0.8 and
    # 0.6 of the length (each rounded to a pixel); the first that ends inside the picture gives it.
    seen = set()
    for seed in range(40):
        values = {**ROW, "DistanceToCrosswalk": 58.0, "Speed": 10.0 + seed % 8}
        image, truth = render_values(values, seed=seed)
        car = next(o for o in truth.objects if o.nearest)
        expected = None
        for share in (1.0, 0.8, 0.6):
            if car.bbox[0] - 2 - round(car.trail_px * share) > 0:
                expected = round(car.trail_px * share) / share
                break
        assert read_trail(image, car.bbox) == expected, seed
        if expected is not None:
            assert abs(expected - car.trail_px) <= 0.5 / 0.6 + 1e-9
        seen.add(None if expected is None else expected == car.trail_px)
    assert seen == {True, False, None}  # every case occurs among these renders


def test_weather_and_surface_are_drawn():
    # The sky's first row and a bare strip of road differ by weather and surface as the palette says.
    rain, _ = render_values(ROW, seed=1)
    clear, _ = render_values({**ROW, "Weather": "clear", "Road": "dry"}, seed=1)
    sky_rain = np.asarray(rain)[0].mean(axis=0)
    sky_clear = np.asarray(clear)[0].mean(axis=0)
    assert sky_clear[2] > sky_rain[2] + 60  # a blue sky against a dark grey one
    road_rain = np.median(np.asarray(rain)[LAYOUT.road_top : LAYOUT.road_bottom, :300].reshape(-1, 3), axis=0)
    road_dry = np.median(np.asarray(clear)[LAYOUT.road_top : LAYOUT.road_bottom, :300].reshape(-1, 3), axis=0)
    assert road_dry.mean() > road_rain.mean() + 40  # wet asphalt is darker


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_scene_invariants(seed):
    image, truth = render_scene(seed, exclude_pairs=[("green", "bus"), ("white", "truck")])
    assert image.size == (WIDTH, HEIGHT) and image.mode == "RGB"
    vehicles = [o for o in truth.objects if o.type in VEHICLE_TYPES]
    assert vehicles and sum(o.nearest for o in truth.objects) == 1
    boxes = [o.bbox for o in truth.objects] + [truth.traffic_light_bbox]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] < a[2] <= WIDTH and 0 <= a[1] < a[3] <= HEIGHT
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    for o in vehicles:
        assert o.color in COLOURS and (o.color, o.type) not in {("green", "bus"), ("white", "truck")}
        assert o.bbox[2] <= LAYOUT.crosswalk_x0 or o.bbox[0] >= LAYOUT.crosswalk_x1
    assert any(o.on_crosswalk for o in truth.objects) == bool(truth.values["PedestrianOnCrosswalk"])
    # The streaks of every vehicle stay clear of every other road user and of the crosswalk.
    for o in vehicles:
        if o.lane == "far":
            x0, x1 = o.bbox[2], o.bbox[2] + 2 + o.trail_px
        else:
            x0, x1 = o.bbox[0] - 2 - o.trail_px, o.bbox[0]
        assert x1 <= LAYOUT.crosswalk_x0
        for b in truth.objects:
            if b is not o and b.lane == o.lane:
                assert x1 <= b.bbox[0] or b.bbox[2] <= x0, (o, b)
    nearest = next(o for o in truth.objects if o.nearest)
    assert (nearest.speed, nearest.braking) == (truth.values["Speed"], bool(truth.values["DriverBrakes"]))
    reading = read_trail(image, nearest.bbox)
    assert reading is None or abs(reading - nearest.trail_px) <= 0.5 / 0.6 + 1e-9
    if nearest.bbox[0] - 2 - nearest.trail_px > 0:
        assert reading == nearest.trail_px


def test_truth_json_has_the_documented_keys():
    _, truth = render_scene(8)
    data = json.loads(truth.to_json())
    assert {"weather", "road", "light", "objects", "hidden"} <= set(data)
    assert all({"type", "color", "bbox"} <= set(o) for o in data["objects"])
    hidden = data["hidden"]
    assert {"speed", "distance_to_crosswalk", "braking_distance", "collision"} <= set(hidden)
    assert hidden["speed"] == pytest.approx(truth.values["Speed"])
    assert "U_Braking" in hidden["values"]


def test_truth_rdf_uses_only_terms_of_the_ontology():
    _, truth = render_scene(8)
    graph = truth.to_rdf()
    ontology = rdflib.Graph().parse(bundled_graphs_dir() / "crossing" / "crossing.ttl")
    defined = set(ontology.subjects(RDFS.label, None))
    used = {
        t for triple in graph for t in triple if isinstance(t, rdflib.URIRef) and str(t).startswith(str(MR))
    }
    assert used <= defined, used - defined
    depicted = list(graph.objects(None, MM.depicts))
    assert len(depicted) == len(truth.objects) + 2  # road users, the traffic light, the crosswalk
    colours = {o for o in graph.objects(None, MR.colour)}
    assert colours == {MR[o.color] for o in truth.objects if o.color}
    assert (None, RDF.type, MM.Scene) in graph


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: render_scene(-1), InvalidInputError, "seed"),
        (lambda: render_scene(1.5), InvalidInputError, "seed"),
        (lambda: render_values({**ROW, "Weather": "snow"}, seed=0), UnknownNameError, "snow"),
        (
            lambda: render_values({k: v for k, v in ROW.items() if k != "Light"}, seed=0),
            InvalidInputError,
            "Light",
        ),
        (
            lambda: render_values({**ROW, "DistanceToCrosswalk": -3}, seed=0),
            InvalidInputError,
            "DistanceToCrosswalk",
        ),
        (lambda: write_renders(resolve_world("crossing"), "/tmp", count=0), InvalidInputError, "count"),
    ],
)
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_write_renders(tmp_path):
    paths = write_renders(resolve_world("crossing"), tmp_path, seed=40, count=2)
    assert [p.name for p in paths] == ["scene-40.png", "scene-41.png"]
    assert json.loads(paths[1].with_suffix(".json").read_text())["seed"] == 41
