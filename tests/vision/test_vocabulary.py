"""The grounding vocabulary comes from the KG: labels, leaf classes, individuals."""

from __future__ import annotations

import pytest

from mmreason.errors import GraphParseError, MissingFileError, UnknownNameError
from mmreason.worlds.crossing import MR
from mmreason.paths import bundled_graphs_dir
from mmreason.vision.vocabulary import Vocabulary


def test_bundled_vocabulary_known_answer():
    vocab = Vocabulary.from_file()
    assert [c.label for c in vocab.of("type")] == [
        "car", "truck", "bus", "pedestrian", "traffic light", "crosswalk", "road",
    ]  # fmt: skip
    assert vocab.prompts("road") == ("a dry road", "a wet road")
    assert vocab.concept("colour", "orange").prompt == "an orange vehicle"
    assert vocab.by_name("light", "redLight").iri == str(MR.redLight)
    assert vocab.vehicle_types == {str(MR.Car), str(MR.Truck), str(MR.Bus)}


def test_a_new_concept_in_the_kg_joins_the_vocabulary(tmp_path):
    path = tmp_path / "extended.ttl"
    extra = (
        '\nmr:purple a mr:Colour ; rdfs:label "purple" .\n'
        'mr:Van a rdfs:Class ; rdfs:subClassOf mr:Vehicle ; rdfs:label "van" .\n'
    )
    path.write_text((bundled_graphs_dir() / "crossing" / "crossing.ttl").read_text() + extra)
    vocab = Vocabulary.from_file(path)
    assert "a purple vehicle" in vocab.prompts("colour")
    assert "a van" in vocab.prompts("type")
    assert vocab.is_vehicle(vocab.concept("type", "van"))


@pytest.mark.parametrize(
    ("text", "error"),
    [(None, MissingFileError), ("@prefix broken", GraphParseError)],
)
def test_bad_files(tmp_path, text, error):
    path = tmp_path / "g.ttl"
    if text is not None:
        path.write_text(text)
    with pytest.raises(error, match=r"g\.ttl"):
        Vocabulary.from_file(path)


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(UnknownNameError, match="colour"):
        Vocabulary.from_file().of("color")
