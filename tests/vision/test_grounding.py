"""Grounding with the bundled model: scene facts match the truth of unseen renders; RDF with confidences."""

from __future__ import annotations

import json

import pytest
from rdflib import RDF, XSD

from mmreason.errors import ImageError, UnknownNameError
from mmreason.worlds.crossing import MR
from mmreason.kg.vocab import scene_graph_iri
from mmreason.paths import bundled_graphs_dir
from mmreason.vision.grounding import ground
from mmreason.vision.vocabulary import Vocabulary
from mmreason.worlds.crossing import render_scene

# Seeds outside the training (1,000,000+) and validation (2,000,000+) ranges.
SEEDS = range(4_000_000, 4_000_030)


@pytest.fixture(scope="module")
def grounded(encoder):
    out = []
    for seed in SEEDS:
        image, truth = render_scene(seed)
        out.append((truth, ground(image, encoder=encoder, image_id=truth.scene_id)))
    return out


def _rate(hits):
    return sum(hits) / len(hits)


def test_scene_attributes_match_the_truth(grounded):
    for attribute in ("weather", "road", "light"):
        hits = [getattr(scene, attribute).value == getattr(truth, attribute) for truth, scene in grounded]
        assert _rate(hits) >= 0.95, attribute


def test_objects_match_the_truth(grounded):
    counts, types, colours, distances = [], [], [], []
    for truth, scene in grounded:
        counts.append(len(scene.objects) == len(truth.objects))
        found = {o.bbox: o for o in scene.objects}
        for obj in truth.objects:
            match = min(
                found.values(), key=lambda f: sum(abs(a - b) for a, b in zip(f.bbox, obj.bbox, strict=True))
            )
            types.append(match.type.value == obj.type)
            if obj.color is not None:
                colours.append(match.colour is not None and match.colour.value == obj.color)
        distances.append(abs(scene.distance_to_crosswalk - truth.distance_to_crosswalk))
    assert _rate(counts) >= 0.95 and _rate(types) >= 0.95 and _rate(colours) >= 0.95
    # Known answer by the world scale: 8 px per metre, so the error is within a pixel or two.
    assert max(distances) <= 0.25


def test_speed_and_brake_lights_of_the_nearest_vehicle_are_read_off_the_image(grounded):
    speeds, lamps, unread = [], [], 0
    for truth, scene in grounded:
        car = next(o for o in truth.objects if o.nearest)
        found = scene.nearest_vehicle
        lamps.append(found.braking == car.braking)
        if found.speed is None:
            unread += 1
            continue
        speeds.append(abs(found.speed - car.speed))
    # Known answer by the world scale: 4 px of streak per m/s, so half a pixel is 0.125 m/s.
    assert speeds and max(speeds) <= 0.125 + 1e-9
    assert unread <= 0.2 * len(grounded)  # only streaks that run out of the picture go unread
    assert _rate(lamps) >= 0.95


def test_pedestrian_on_crosswalk_is_read_off_the_image(grounded):
    hits = [
        (scene.pedestrian_on_crosswalk is not None) == bool(truth.values["PedestrianOnCrosswalk"])
        for truth, scene in grounded
    ]
    assert _rate(hits) >= 0.95


def test_every_fact_has_a_confidence(grounded):
    _, scene = grounded[0]
    facts = scene.facts()
    assert facts and all(0.0 <= c <= 1.0 for *_, c in facts)
    data = scene.to_dict()
    assert {"weather", "road", "light", "objects", "traffic_light", "distance_to_crosswalk"} <= set(data)
    assert {"weather", "road", "light"} <= set(data["confidence"])
    assert all("type" in o["confidence"] for o in data["objects"])
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
        confidence = graph.value(statement, MR.confidence)
        assert confidence.datatype == XSD.double and 0.0 <= confidence.toPython() <= 1.0
    assert list(graph.objects(None, MR.weather)) == [MR[scene.weather.value]]
    assert len(list(graph.objects(None, MR.depicts))) == len(scene.objects) + 2  # + light, crosswalk


def test_open_vocabulary_follows_the_kg(tmp_path, encoder):
    # A KG with one more colour: grounding scores it with no code change.
    path = tmp_path / "more.ttl"
    path.write_text(
        (bundled_graphs_dir() / "crossing" / "crossing.ttl").read_text()
        + '\nmr:purple a mr:Colour ; rdfs:label "purple" .\n'
    )
    vocab = Vocabulary.from_file(path)
    image, _ = render_scene(4_100_000)
    scene = ground(image, encoder=encoder, vocabulary=vocab)
    assert all(o.colour.concept.iri in {c.iri for c in vocab.of("colour")} for o in scene.objects if o.colour)


def test_a_real_photo_goes_through_the_grid_proposer(encoder):
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        data = fh.read()
    scene = ground(data, encoder=encoder, image_id="grace")
    assert scene.proposer == "grid" and scene.pixels_per_metre is None
    assert scene.distance_to_crosswalk is None
    assert 0.0 <= scene.weather.confidence <= 1.0
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
