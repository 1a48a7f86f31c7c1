"""The grounding vocabulary comes from a world: its manifest's classes and properties, their labels."""

from __future__ import annotations

import json
import shutil

import pytest

from mmreason.errors import UnknownNameError, WorldError
from mmreason.vision.vocabulary import TYPE, Vocabulary
from mmreason.worlds import World, bundled_world_dir
from mmreason.worlds.crossing import MR

COLOUR, LIGHT = str(MR.colour), str(MR.lightState)


def test_bundled_vocabulary_known_answer():
    vocab = Vocabulary.from_world("crossing")
    assert [c.label for c in vocab.of(TYPE)] == [
        "car", "truck", "bus", "pedestrian", "traffic light", "crosswalk", "road",
    ]  # fmt: skip
    assert vocab.prompts(str(MR.surface)) == ("a dry road", "a wet road")
    assert vocab.concept(COLOUR, "orange").prompt == "an orange vehicle"
    assert vocab.by_name(LIGHT, "redLight").prompt == "a red light"
    # A concept's own mm:prompt wins over the template.
    assert vocab.prompts(str(MR.weather)) == ("clear weather", "cloudy weather", "rain")
    assert vocab.carriers[COLOUR] == {str(MR.Car), str(MR.Truck), str(MR.Bus)}
    assert vocab.carriers[LIGHT] == {str(MR.TrafficLight)}
    assert vocab.background == {str(MR.Road), str(MR.Crosswalk)}


def test_the_prompts_are_those_the_bundled_model_was_trained_with():
    world = World.load(bundled_world_dir("crossing"))
    recipe = json.loads((world.encoder / "recipe.json").read_text())
    trained = {c["iri"]: c["prompt"] for kind in recipe["prompts"]["vocabulary"].values() for c in kind}
    ours = {c["iri"]: c["prompt"] for kind in Vocabulary.from_world(world).to_dict().values() for c in kind}
    assert ours == trained


def crossing_copy(tmp_path, extra: str):
    """The crossing world copied as the repository lays it out, with ``extra`` Turtle appended."""
    from mmreason.paths import bundled_scenarios_dir

    folder = tmp_path / "graphs" / "crossing"
    shutil.copytree(bundled_world_dir("crossing"), folder)
    shutil.copytree(bundled_scenarios_dir(), tmp_path / "scenarios")
    with open(folder / "crossing.ttl", "a") as fh:
        fh.write(extra)
    return World.load(folder)


def test_a_new_concept_in_the_ontology_joins_the_vocabulary(tmp_path):
    world = crossing_copy(
        tmp_path,
        '\nmr:purple a mr:Colour ; rdfs:label "purple" .\n'
        'mr:Van a rdfs:Class ; rdfs:subClassOf mr:Vehicle ; rdfs:label "van" .\n',
    )
    vocab = Vocabulary.from_world(world)
    assert "a purple vehicle" in vocab.prompts(COLOUR)
    assert "a van" in vocab.prompts(TYPE)
    assert vocab.is_a(str(MR.Van), str(MR.Vehicle))
    assert str(MR.Van) in vocab.carriers[COLOUR]


def test_a_world_without_vision_has_no_vocabulary(tmp_path):
    (tmp_path / "o.ttl").write_text(
        "@prefix ex: <http://example.org/#> .\nex:A a <http://www.w3.org/2000/01/rdf-schema#Class> .\n"
    )
    (tmp_path / "world.toml").write_text('ontology = ["o.ttl"]\n')
    with pytest.raises(WorldError, match="has no \\[vision\\] table"):
        Vocabulary.from_world(World.load(tmp_path))


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(UnknownNameError, match="colour"):
        Vocabulary.from_world("crossing").of("color")
