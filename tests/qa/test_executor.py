"""Known answers on hand-built scenes: no CLIP, every probability set by hand."""

import pytest

from mmreason.causal import SCM
from mmreason.causal.bindings import Bindings
from mmreason.kg import KnowledgeGraph
from mmreason.paths import bundled_graphs_dir
from mmreason.qa.executor import Executor
from mmreason.qa.lexicon import Lexicon
from mmreason.qa.parser import QuestionParser
from mmreason.vision.grounding import Attribute, GroundedObject, SceneGraph, world_value
from mmreason.vision.vocabulary import Vocabulary

VOCAB = Vocabulary.from_file()


def attr(kind: str, name: str, p: float) -> Attribute:
    concept = VOCAB.by_name(kind, name)
    value = concept.label if kind == "type" else name.removesuffix("Light") if kind == "light" else name
    return Attribute(concept, value, p)


def lamps(on: bool, p: float) -> Attribute:
    # Two states: CLIP's distribution is p for the one read and 1 - p for the other.
    lit, dark = VOCAB.by_name("brakes", "brakeLightsOn"), VOCAB.by_name("brakes", "brakeLightsOff")
    concept = lit if on else dark
    distribution = {lit.iri: p if on else 1.0 - p, dark.iri: 1.0 - p if on else p}
    return Attribute(concept, world_value(concept), p, distribution)


def obj(i, kind, p, colour=None, pc=1.0, x=0, on=False, distance=None, speed=None, brakes=None):
    return GroundedObject(
        id=f"{kind.lower()}-{i}",
        type=attr("type", kind, p),
        colour=None if colour is None else attr("colour", colour, pc),
        bbox=(x, 200, x + 40, 240),
        on_crosswalk=on,
        distance_to_crosswalk=distance,
        source="hand",
        speed=speed,
        brake_lights=brakes,
    )


SCENE = SceneGraph(
    image_id="hand",
    size=(640, 320),
    weather=attr("weather", "rain", 0.9),
    road=attr("road", "wet", 0.8),
    light=attr("light", "redLight", 0.95),
    traffic_light_bbox=(610, 265, 630, 318),
    objects=(
        obj(0, "Car", 0.9, "red", 0.8, x=10, distance=30.0, speed=15.0, brakes=lamps(False, 0.9)),
        obj(1, "Car", 0.6, "blue", 0.9, x=100, distance=12.5, speed=12.25, brakes=lamps(True, 0.97)),
        obj(2, "Truck", 0.7, "red", 0.5, x=300, brakes=lamps(False, 0.8)),
        obj(3, "Pedestrian", 0.99, x=570, on=True),
    ),
    crosswalk_bbox=(560, 135, 600, 262),
    pixels_per_metre=8.0,
    proposer="hand",
    model="hand",
)


def make_runner(kg):
    scm = SCM.from_file(bundled_graphs_dir() / "crossing.scm.toml", device="cpu")
    bindings = Bindings.from_file(bundled_graphs_dir() / "crossing.bindings.toml", scm=scm)
    executor = Executor(kg=kg, scm=scm, bindings=bindings, samples=2000, seed=0)
    parser = QuestionParser(Lexicon.from_kg(kg, scm=scm, bindings=bindings))
    return lambda question, scene=SCENE: executor.run(parser.parse(question), scene)


def crossing_kg():
    kg = KnowledgeGraph.open()
    kg.load(bundled_graphs_dir() / "crossing.ttl")
    return kg


@pytest.fixture(scope="module")
def run():
    return make_runner(crossing_kg())


@pytest.mark.parametrize(
    ("question", "value", "confidence"),
    [
        # Both cars are more likely cars than not; the answer is right when both are (0.9 · 0.6).
        ("How many cars are there?", 2, 0.9 * 0.6),
        # Red cars: p = 0.9·0.8 = 0.72 and 0.6·0 = 0 (blue); one red car, right with p 0.72.
        ("How many red cars are there?", 1, 0.72),
        ("Is there a truck?", True, 0.7),
        ("Is there a bus?", False, 1.0),
        # Vehicles by the subclass closure: cars and the truck.
        ("How many vehicles are there?", 3, 0.9 * 0.6 * 0.7),
        ("Are there vulnerable road users?", True, 0.99),
        ("Is the road wet?", True, 0.8),
        ("Is it raining?", True, 0.9),
        ("What is the weather?", "rain", 0.9),
        ("What colour is the traffic light?", "red", 0.95),
        ("Is anyone on the crosswalk?", True, 0.99),
        ("Which vehicle is closest to the crosswalk?", "blue car", 0.6 * 0.9),
        ("How far is the car from the crosswalk?", 12.5, 0.6),
        # "The car" is the one nearest the crosswalk: its streaks read 12.25 m/s, its lamps lit.
        ("How fast is the car going?", 12.25, 0.6),
        ("Is the car braking?", True, 0.6 * 0.97),
        ("Is the truck braking?", False, 0.7 * 0.8),
        # Blue, read without CLIP's full distribution: P(red) counts as 0, so only P(car) is left.
        ("Is the car red?", False, 0.6),
        # Only the red-light rule requires stopping (the crosswalk rule asks to yield): P(red) = 0.95.
        ("Must the car stop?", True, 0.95),
        ("Is the road slippery?", True, 0.8),
    ],
)
def test_hand_built_scene_gives_known_answers(run, question, value, confidence):
    answer = run(question)
    assert answer.value == value
    assert answer.confidence == pytest.approx(confidence, abs=1e-9)
    assert answer.steps


def test_absent_objects_are_said_to_be_absent(run):
    answer = run("What colour is the bus?")
    assert answer.value is None
    assert "no bus" in answer.text


def test_rule_answer_names_the_rule_and_the_sparql_behind_it(run):
    answer = run("Must the car stop?")
    assert "vehicles stop at a red light" in answer.text
    assert any(step.kind == "sparql" for step in answer.steps)


def test_counterfactual_uses_image_evidence_and_the_scm(run):
    answer = run("Would the car have stopped before the crosswalk if the road had been dry?")
    kinds = [step.kind for step in answer.steps]
    assert "causal" in kinds and "ground" in kinds
    assert isinstance(answer.value, bool)
    assert 0.5 <= answer.confidence <= 1.0


def test_explanation_presupposes_what_the_image_shows(run):
    why = run("Why is the road wet?")
    assert why.value == "Weather=rain"
    not_dry = run("Why is the road dry?")
    assert not_dry.value is None and "not dry" in not_dry.text


def _predict(kg, s, p, o, score):
    from rdflib import RDF, XSD, Literal, URIRef

    from mmreason.kg.vocab import MR as VOCAB

    statement = URIRef("urn:test:prediction")
    kg.add(
        [
            (s, p, o),
            (statement, RDF.type, RDF.Statement),
            (statement, RDF.subject, s),
            (statement, RDF.predicate, p),
            (statement, RDF.object, o),
            (statement, VOCAB.confidence, Literal(score, datatype=XSD.double)),
        ],
        graph="predicted",
    )


def test_a_gnn_prediction_answers_when_the_asserted_rules_are_silent():
    from mmreason.kg.vocab import MR as VOCAB

    kg = crossing_kg()
    kg.update("DELETE WHERE { GRAPH ?g { ?rule mr:when ?state ; ?p ?o } }", state=VOCAB.redLight)
    _predict(kg, VOCAB.redLight, VOCAB.requires, VOCAB.stop, 0.8)
    answer = make_runner(kg)("Must the car stop?")
    assert answer.value is True
    # P(red) from the image times the GNN's calibrated score.
    assert answer.confidence == pytest.approx(0.95 * 0.8)
    assert next(s for s in answer.steps if s.kind == "gnn").confidence == pytest.approx(0.8)


def test_predicted_facts_never_pass_for_asserted_ones():
    from rdflib import Literal

    from mmreason.kg.vocab import MR as VOCAB

    kg = crossing_kg()
    # A wrong prediction: a wet road is not slippery. Only the asserted fact may be read.
    _predict(kg, VOCAB.wet, VOCAB.isSlippery, Literal(False), 0.99)
    answer = make_runner(kg)("Is the road slippery?")
    assert answer.value is True
    assert next(s for s in answer.steps if s.kind == "sparql").detail.endswith("-> True")
