"""The crossing ontology (graphs/crossing/crossing.ttl) reads as intended; the engine's vocabulary."""

from __future__ import annotations

import pytest
from rdflib import RDF, RDFS, Graph, URIRef

from mmreason.errors import UnknownNameError
from mmreason.kg import MM, MR_GRAPHS, bundled_graphs_dir, graph_iri, scene_graph_iri
from mmreason.worlds.crossing import MR


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(bundled_graphs_dir() / "crossing" / "crossing.ttl")


def test_every_named_concept_has_one_lower_case_label(ontology: Graph) -> None:
    named = {s for s in ontology.subjects(RDF.type, None) if str(s).startswith(str(MR))}
    assert len(named) > 40
    for name in named:
        labels = [str(label) for label in ontology.objects(name, RDFS.label)]
        assert len(labels) == 1, name
        assert labels[0] == labels[0].lower() and labels[0].strip(), name


def test_every_mr_term_in_the_file_is_declared(ontology: Graph) -> None:
    declared = set(ontology.subjects(RDF.type, None))
    used = {t for triple in ontology for t in triple if isinstance(t, URIRef) and str(t).startswith(str(MR))}
    assert used <= declared, sorted(used - declared)


def test_the_engines_terms_are_not_the_worlds(ontology: Graph) -> None:
    # Scene, depicts, leftOf and confidence belong to the engine (mm:), not to the crossing.
    for local in ("Scene", "depicts", "leftOf", "confidence", "when", "appliesTo"):
        assert not any(ontology.triples((MR[local], None, None))), local
    assert (MR.TrafficRule, RDFS.subClassOf, MM.Rule) in ontology


@pytest.mark.parametrize(
    ("cls", "ancestor"),
    [
        ("Car", "Vehicle"),
        ("Truck", "RoadUser"),
        ("Bus", "SceneObject"),
        ("Pedestrian", "VulnerableRoadUser"),
        ("Pedestrian", "RoadUser"),
        ("TrafficLight", "SceneObject"),
    ],
)
def test_subclass_closure(ontology: Graph, cls: str, ancestor: str) -> None:
    assert MR[ancestor] in set(ontology.transitive_objects(MR[cls], RDFS.subClassOf))


def test_pedestrians_are_not_vehicles(ontology: Graph) -> None:
    assert MR.Vehicle not in set(ontology.transitive_objects(MR.Pedestrian, RDFS.subClassOf))


def test_individuals_have_their_class(ontology: Graph) -> None:
    expected = {
        "Colour": {"red", "blue", "green", "yellow", "white", "black", "orange", "silver"},
        "Weather": {"clear", "cloudy", "rain"},
        "RoadSurface": {"dry", "wet"},
        "LightState": {"redLight", "yellowLight", "greenLight"},
    }
    for cls, names in expected.items():
        assert {str(s)[len(str(MR)) :] for s in ontology.subjects(RDF.type, MR[cls])} == names


def test_rules_and_facts_as_triples(ontology: Graph) -> None:
    assert (MR.redLight, MR.requires, MR.stop) in ontology
    assert (MR.yellowLight, MR.requires, MR.prepareToStop) in ontology
    assert (MR.greenLight, MR.requires, MR.mayGo) in ontology
    assert (MR.Vehicle, MR.mustYieldTo, MR.Pedestrian) in ontology
    assert (MR.rain, MR.causes, MR.wet) in ontology
    assert ontology.value(MR.wet, MR.isSlippery).toPython() is True
    assert (
        ontology.value(MR.wet, MR.typicalFriction).toPython()
        < ontology.value(MR.dry, MR.typicalFriction).toPython()
    )


def test_graph_iris() -> None:
    assert set(MR_GRAPHS) == {"asserted", "image", "predicted"}
    assert len(set(MR_GRAPHS.values())) == 3
    with pytest.raises(UnknownNameError, match="asserted, image, predicted"):
        graph_iri("imaginary")
    assert scene_graph_iri("a/b") == URIRef("http://mmreason.org/graphs/image/a%2Fb")
