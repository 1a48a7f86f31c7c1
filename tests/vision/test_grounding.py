"""Grounding with the crossing's model: facts match the truth of unseen renders; RDF with confidences."""

from __future__ import annotations

import json

import pytest
from rdflib import RDF, XSD

from mmreason.errors import ImageError, UnknownNameError
from mmreason.kg.vocab import MM, scene_graph_iri
from mmreason.vision.grounding import ground
from mmreason.vision.vocabulary import Vocabulary
from mmreason.worlds.crossing import MR, render_scene
from tests.vision.test_vocabulary import crossing_copy

# Seeds outside the training (1,000,000+) and validation (2,000,000+) ranges.
SEEDS = range(4_000_000, 4_000_030)
COLOUR, LIGHT, LAMPS = str(MR.colour), str(MR.lightState), str(MR.brakeLights)
DISTANCE, SPEED = str(MR.distanceToCrosswalk), str(MR.speed)


@pytest.fixture(scope="module")
def grounded(encoder):
    out = []
    for seed in SEEDS:
        image, truth = render_scene(seed)
        out.append((truth, ground(image, encoder=encoder, image_id=truth.scene_id)))
    return out


def _rate(hits):
    return sum(hits) / len(hits)


def _light(scene):
    return next(o for o in scene.objects if o.type.concept.iri == str(MR.TrafficLight))


def _match(scene, obj):
    # The grounded object whose box is nearest the true one.
    return min(scene.objects, key=lambda f: sum(abs(a - b) for a, b in zip(f.bbox, obj.bbox, strict=True)))


def test_scene_attributes_match_the_truth(grounded):
    weather = [s.attribute(str(MR.weather)).value == t.weather for t, s in grounded]
    road = [s.attribute(str(MR.surface)).value == t.road for t, s in grounded]
    light = [_light(s).attribute(LIGHT).value == t.light for t, s in grounded]
    assert _rate(weather) >= 0.95 and _rate(road) >= 0.95 and _rate(light) >= 0.95


def test_objects_match_the_truth(grounded):
    counts, types, colours, distances = [], [], [], []
    for truth, scene in grounded:
        # The traffic light is an object of the world too.
        counts.append(len(scene.objects) == len(truth.objects) + 1)
        for obj in truth.objects:
            match = _match(scene, obj)
            types.append(match.type.value == obj.type)
            if obj.color is not None:
                colours.append(
                    match.attribute(COLOUR) is not None and match.attribute(COLOUR).value == obj.color
                )
        nearest = _match(scene, next(o for o in truth.objects if o.nearest))
        distances.append(abs(nearest.measure(DISTANCE) - truth.distance_to_crosswalk))
    assert _rate(counts) >= 0.95 and _rate(types) >= 0.95 and _rate(colours) >= 0.95
    # Known answer by the world scale: 8 px per metre, so the error is within a pixel or two.
    assert max(distances) <= 0.25


def test_speed_and_brake_lights_of_the_nearest_vehicle_are_read_off_the_image(grounded):
    speeds, lamps, unread = [], [], 0
    for truth, scene in grounded:
        car = next(o for o in truth.objects if o.nearest)
        found = _match(scene, car)
        lamps.append((found.attribute(LAMPS).concept.iri == str(MR.brakeLightsOn)) == car.braking)
        if found.measure(SPEED) is None:
            unread += 1
            continue
        speeds.append(abs(found.measure(SPEED) - car.speed))
    # Known answer by the world scale: 4 px of streak per m/s, so half a pixel is 0.125 m/s.
    assert speeds and max(speeds) <= 0.125 + 1e-9
    assert unread <= 0.2 * len(grounded)  # only streaks that run out of the picture go unread
    assert _rate(lamps) >= 0.95


def test_pedestrian_on_crosswalk_is_read_off_the_image(grounded):
    hits = []
    for truth, scene in grounded:
        on = [r for r in scene.relations if r.property == str(MR.onCrosswalk)]
        walkers = [r for r in on if scene.object(r.subject).type.concept.iri == str(MR.Pedestrian)]
        hits.append(bool(walkers) == bool(truth.values["PedestrianOnCrosswalk"]))
    assert _rate(hits) >= 0.95


def test_every_fact_has_a_confidence(grounded):
    _, scene = grounded[0]
    facts = scene.facts()
    assert facts and all(0.0 <= f.confidence <= 1.0 for f in facts)
    data = scene.to_dict()
    assert {"weather", "surface"} <= set(data["attributes"])
    assert all(0.0 <= o["confidence"] <= 1.0 for o in data["objects"])
    assert data["regions"][0]["id"] == "crosswalk"
    json.loads(scene.to_json())


def test_rdf_is_a_named_graph_with_reified_confidences(grounded):
    truth, scene = grounded[0]
    graph = scene.to_rdf()
    assert graph.identifier == scene_graph_iri(truth.scene_id)
    statements = list(graph.subjects(RDF.type, RDF.Statement))
    assert len(statements) == len(scene.facts())
    for statement in statements:
        s, p, o = (graph.value(statement, x) for x in (RDF.subject, RDF.predicate, RDF.object))
        assert (s, p, o) in graph
        confidence = graph.value(statement, MM.confidence)
        assert confidence.datatype == XSD.double and 0.0 <= confidence.toPython() <= 1.0
    assert list(graph.objects(None, MR.weather)) == [MR[truth.weather]]
    assert len(list(graph.objects(None, MM.depicts))) == len(scene.objects) + 1  # + the crosswalk


@pytest.fixture(scope="module")
def purple_world(tmp_path_factory):
    # One more colour in the ontology, which no render has: grounding must score it and still
    # read every render's own colours.
    return crossing_copy(
        tmp_path_factory.mktemp("purple"), '\nmr:purple a mr:Colour ; rdfs:label "purple" .\n'
    )


# Known renders: seeds outside every training and validation range.
PINNED = range(4_100_000, 4_100_006)


@pytest.mark.parametrize("seed", PINNED)
def test_grounding_reads_the_rendered_answers(purple_world, encoder, seed):
    # The renderer's own scene description is the truth: every value grounding reads must equal it.
    vocab = Vocabulary.from_world(purple_world)
    image, truth = render_scene(seed)
    scene = ground(image, world=purple_world, encoder=encoder, vocabulary=vocab)
    assert scene.attribute(str(MR.weather)).value == truth.weather
    assert scene.attribute(str(MR.surface)).value == truth.road
    assert _light(scene).attribute(LIGHT).value == truth.light
    users = [o for o in scene.objects if o.type.concept.iri != str(MR.TrafficLight)]
    assert len(users) == len(truth.objects)
    for obj in truth.objects:
        found = _match(scene, obj)
        assert max(abs(a - b) for a, b in zip(found.bbox, obj.bbox, strict=True)) <= 4
        assert found.type.value == obj.type
        colour = found.attribute(COLOUR)
        lamps = found.attribute(LAMPS)
        if obj.color is None:  # a pedestrian: no colour, no brake lamps
            assert colour is None and lamps is None
            continue
        assert colour.value == obj.color
        assert lamps.concept.iri == str(MR.brakeLightsOn if obj.braking else MR.brakeLightsOff)
        # The open vocabulary: the new colour is scored with the others, and loses.
        assert set(colour.distribution) == {c.iri for c in vocab.of(COLOUR)}
        assert str(MR.purple) in colour.distribution
        assert sum(colour.distribution.values()) == pytest.approx(1.0, abs=1e-5)


def test_a_real_photo_goes_through_the_grid_proposer(encoder):
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        data = fh.read()
    scene = ground(data, encoder=encoder, image_id="grace")
    assert scene.proposer == "grid" and not scene.regions
    # Nothing can be measured on a photo, and brake lamps are not guessed at a whole vehicle's scale.
    assert all(not o.measures and o.attribute(LAMPS) is None for o in scene.objects)
    assert 0.0 <= scene.attribute(str(MR.weather)).confidence <= 1.0
    assert scene.to_rdf().identifier == scene_graph_iri("grace")


def test_a_large_photo_is_grounded_on_a_reduced_copy(encoder):
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        photo = Image.open(fh).convert("RGB").resize((2048, 2400))
    scene = ground(photo, encoder=encoder)
    assert scene.size == (2048, 2400)
    assert all(
        0 <= o.bbox[0] < o.bbox[2] <= 2048 and 0 <= o.bbox[1] < o.bbox[3] <= 2400 for o in scene.objects
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"image": b"not an image"}, ImageError, "not an image"),
        ({"proposer": "sliding"}, UnknownNameError, "grid"),
    ],
)
def test_bad_input(encoder, kwargs, error, match):
    args = {"image": render_scene(1)[0], **kwargs}
    with pytest.raises(error, match=match):
        ground(args.pop("image"), encoder=encoder, **args)
