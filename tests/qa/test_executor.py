"""Known answers on hand-built scenes: no CLIP, every probability set by hand."""

import pytest

from mmreason import ImageError
from mmreason.causal import SCM
from mmreason.causal.bindings import Bindings
from mmreason.kg import KnowledgeGraph
from mmreason.qa.executor import Executor
from mmreason.qa.lexicon import Lexicon
from mmreason.qa.parser import QuestionParser
from mmreason.vision.vocabulary import Vocabulary
from mmreason.worlds import resolve_world
from tests.qa.scenes import SCENE

WORLD = resolve_world("crossing")


def make_runner(kg):
    scm = SCM.from_file(WORLD.scm, device="cpu")
    bindings = Bindings.from_file(WORLD.bindings, scm=scm)
    executor = Executor(
        kg=kg,
        scm=scm,
        bindings=bindings,
        vocabulary=Vocabulary.from_world(WORLD),
        focus=WORLD.vision.focus,
        samples=2000,
        seed=0,
    )
    parser = QuestionParser(Lexicon.from_kg(kg, scm=scm, bindings=bindings))

    def run(question, scene=SCENE):
        program = parser.parse(question)
        answer = executor.run(program, scene)
        return answer, program

    run.executor = executor
    return run


def crossing_kg():
    kg = KnowledgeGraph.open()
    for path in WORLD.ontology:
        kg.load(path)
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
        # The light is a traffic light for sure (p 1.0), red at 0.95.
        ("What colour is the traffic light?", "red", 0.95),
        ("Is the light red?", True, 0.95),
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
        # The crosswalk is a region the world's reader found, not a counted object.
        ("Is there a crosswalk?", True, 1.0),
    ],
)
def test_hand_built_scene_gives_known_answers(run, question, value, confidence):
    answer, program = run(question)
    assert answer.value == value
    # An answer is never surer than the reading of its question.
    assert answer.confidence == pytest.approx(min(confidence, program.confidence), abs=1e-9)
    assert answer.steps


def test_absent_objects_are_said_to_be_absent(run):
    answer, _ = run("What colour is the bus?")
    assert answer.value is None
    assert "no bus" in answer.text


def test_rule_answer_names_the_rule_and_the_sparql_behind_it(run):
    answer, _ = run("Must the car stop?")
    assert "vehicles stop at a red light" in answer.text
    assert any(step.kind == "sparql" for step in answer.steps)


@pytest.mark.parametrize(
    ("question", "do", "target"),
    [
        ("Would the car have stopped before the crosswalk had the road been dry?", {"Road": "dry"}, "stops"),
        ("Would the car have stopped in time if the light had been green?", {"Light": "green"}, "stops"),
        ("Would the car have hit the pedestrian if the driver had not braked?", {"DriverBrakes": 0}, "hit"),
    ],
)
def test_counterfactual_equals_the_hand_derivation_on_the_scenes_evidence(run, question, do, target):
    from bench.crossing_reference import collision, stops_in_time

    answer, program = run(question)
    kinds = [step.kind for step in answer.steps]
    assert "causal" in kinds and "ground" in kinds
    # "the car" is the nearer one (12.5 m, 12.25 m/s, brake lamps read lit at 0.97).
    evidence = run.executor.evidence(SCENE)
    assert evidence.evidence == {"Speed": 12.25, "DistanceToCrosswalk": 12.5}
    p = (stops_in_time if target == "stops" else collision)(evidence.evidence, evidence.soft_evidence, do)
    tolerance = 4 * (max(p * (1 - p), 1e-4) / run.executor.samples) ** 0.5
    assert answer.value is (p > 0.5)
    assert answer.confidence == pytest.approx(min(max(p, 1 - p), program.confidence), abs=tolerance)


def test_explanation_presupposes_what_the_image_shows(run):
    why, _ = run("Why is the road wet?")
    assert why.value == "Weather=rain"
    not_dry, _ = run("Why is the road dry?")
    assert not_dry.value is None and "not dry" in not_dry.text


def test_what_caused_it_is_a_but_for_test_of_each_candidate_against_the_hand_derivation(run):
    """The nearer car 25 m out at 12.25 m/s on a wet road: it does not stop, and hits the
    pedestrian. Each candidate the bindings name (``but_for``) is tested on the same noise with
    the collision given: every change here only shortens the stop, so a collision with it means
    one without, and P(collision had the change | collision) = P(no stop had it) / P(no stop)."""
    import re
    from dataclasses import replace

    from bench.crossing_reference import stops_in_time
    from tests.qa.scenes import DISTANCE

    far, near, *rest = SCENE.objects
    scene = replace(SCENE, objects=(far, near.with_measures({DISTANCE: 25.0}), *rest))
    answer, program = run("What caused the collision?", scene)
    assert program.ops[0].name == "causes"
    seen = run.executor.evidence(scene)
    e, soft = seen.evidence, seen.soft_evidence
    assert e == {"Speed": 12.25, "DistanceToCrosswalk": 25.0}
    no_stop = 1 - stops_in_time(e, soft, {})
    changes = {
        "Light": {"Light": "red"},
        "ReactionTime": {"ReactionTime": 0.5},
        "Road": {"Road": "dry"},
        "Speed": {"Speed": 9.25},
    }
    expected = {name: (1 - stops_in_time(e, soft, do)) / no_stop for name, do in changes.items()}
    said = {}
    for step in answer.steps:
        found = re.search(r"but for (.+) \(.*\): P\(Collision=1\) ([0-9.]+)", step.detail)
        if found:
            said[found.group(1)] = float(found.group(2))
    words = {"Light": "light", "ReactionTime": "reaction time", "Road": "road", "Speed": "speed"}
    for name, p in expected.items():
        assert said[words[name]] == pytest.approx(p, abs=0.04), name
    # Reaction 0.26, road 0.12 (read wet at 0.8), speed 0.07: causes. The lamps were lit, so a
    # red light changes nothing: 1.00.
    assert (
        set(answer.value)
        == {name for name, p in expected.items() if p < 0.5}
        == {"Road", "Speed", "ReactionTime"}
    )
    assert answer.text.startswith("because of")


def test_what_caused_it_presupposes_that_it_happened(run):
    answer, _ = run("What caused the collision?")  # the car 12.5 m out does not stop: it did
    assert answer.value is not None
    stopped = replace_distance(SCENE, 200.0)
    none, _ = run("What caused the collision?", stopped)
    assert none.value is None and "is not 1" in none.text


def replace_distance(scene, metres):
    from dataclasses import replace

    from tests.qa.scenes import DISTANCE

    far, near, *rest = scene.objects
    return replace(
        scene,
        objects=(far.with_measures({DISTANCE: metres + 10}), near.with_measures({DISTANCE: metres}), *rest),
    )


def _predict(kg, s, p, o, score):
    from rdflib import RDF, XSD, Literal, URIRef

    from mmreason.kg.vocab import MM

    statement = URIRef("urn:test:prediction")
    kg.add(
        [
            (s, p, o),
            (statement, RDF.type, RDF.Statement),
            (statement, RDF.subject, s),
            (statement, RDF.predicate, p),
            (statement, RDF.object, o),
            (statement, MM.confidence, Literal(score, datatype=XSD.double)),
        ],
        graph="predicted",
    )


def test_a_gnn_prediction_answers_when_the_asserted_rules_are_silent():
    from mmreason.worlds.crossing import MR as VOCAB

    kg = crossing_kg()
    kg.update("DELETE WHERE { GRAPH ?g { ?rule mm:when ?state ; ?p ?o } }", state=VOCAB.redLight)
    _predict(kg, VOCAB.redLight, VOCAB.requires, VOCAB.stop, 0.8)
    answer, _ = make_runner(kg)("Must the car stop?")
    assert answer.value is True
    # P(red) from the image times the GNN's calibrated score.
    assert answer.confidence == pytest.approx(0.95 * 0.8)
    assert next(s for s in answer.steps if s.kind == "gnn").confidence == pytest.approx(0.8)


def test_predicted_facts_never_pass_for_asserted_ones():
    from rdflib import Literal

    from mmreason.worlds.crossing import MR as VOCAB

    kg = crossing_kg()
    # A wrong prediction: a wet road is not slippery. Only the asserted fact may be read.
    _predict(kg, VOCAB.wet, VOCAB.isSlippery, Literal(False), 0.99)
    answer, _ = make_runner(kg)("Is the road slippery?")
    assert answer.value is True
    assert next(s for s in answer.steps if s.kind == "sparql").detail.endswith("-> True")


@pytest.mark.parametrize(
    ("question", "value", "text"),
    [
        ("Is a bus a vehicle?", True, "yes: a bus is a vehicle"),
        ("Is a pedestrian a vulnerable road user?", True, "a pedestrian is a vulnerable road user"),
        (
            "Is a pedestrian a vehicle?",
            False,
            "no: the knowledge graph says a pedestrian is a vulnerable road user",
        ),
        ("What kind of thing is a bus?", "vehicle", "a bus is a vehicle"),
        # Read as the action of the crosswalk rule, which binds vehicles, so buses.
        ("Must a bus yield to pedestrians?", None, "vehicles yield to pedestrians on the crosswalk"),
        # A rule whose condition only an image can show.
        ("Must a car stop?", None, "it depends on what the image shows: vehicles stop at a red light"),
        ("Must a pedestrian stop?", False, "no: nothing in the knowledge graph says"),
    ],
)
def test_knowledge_questions_need_no_image(run, question, value, text):
    answer, program = run(question, scene=None)
    assert answer.value == value
    assert text in answer.text
    # The knowledge graph is certain; only the reading of the question is not.
    assert answer.confidence == pytest.approx(program.confidence)


def test_an_image_question_without_an_image_says_so(run):
    with pytest.raises(ImageError, match="asks about an image, and none was given"):
        run("How many cars are there?", scene=None)


def test_a_property_the_image_does_not_show_is_inferred_by_the_scm_when_bound(run):
    # Without an image the weather is the SCM's prior: clear 0.55, cloudy 0.25, rain 0.20.
    answer, _ = run("What is the weather?", scene=None)
    assert answer.value == "clear"
    assert answer.confidence == pytest.approx(0.55, abs=1e-9)
    assert "inferred by the causal model" in answer.text
