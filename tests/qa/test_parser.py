import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmreason import QuestionNotUnderstoodError
from mmreason.causal import SCM
from mmreason.causal.bindings import Bindings
from mmreason.kg import KnowledgeGraph
from mmreason.paths import bundled_graphs_dir
from mmreason.qa.lexicon import CLASS, Concept, Lexicon, variable_concepts, variable_words
from mmreason.qa.parser import EXAMPLES, QuestionParser, normalize


@pytest.fixture(scope="module")
def parser() -> QuestionParser:
    kg = KnowledgeGraph.open()
    kg.load(bundled_graphs_dir() / "crossing.ttl")
    scm = SCM.from_file(bundled_graphs_dir() / "crossing.scm.toml", device="cpu")
    bindings = Bindings.from_file(bundled_graphs_dir() / "crossing.bindings.toml", scm=scm)
    return QuestionParser(Lexicon.from_kg(kg, scm=scm, bindings=bindings))


@pytest.mark.parametrize(
    ("question", "family", "program"),
    [
        (
            "How many red cars are there?",
            "count",
            "select(cls=Car) -> filter(prop=colour, value=red) -> count()",
        ),
        ("How many automobiles are there?", "count", "select(cls=Car) -> count()"),
        ("how many people are in the picture", "count", "select(cls=Pedestrian) -> count()"),
        ("Is there a bus?", "exist", "select(cls=Bus) -> exist()"),
        ("What colour is the traffic light?", "attribute", "select(cls=TrafficLight) -> query(prop=colour)"),
        ("What color is the car?", "attribute", "select(cls=Car) -> query(prop=colour)"),
        ("What's the weather like?", "attribute", "select(cls=Scene) -> query(prop=weather)"),
        (
            "Is the road wet?",
            "attribute",
            "select(cls=Road) -> verify(prop=surface, value=wet, negate=False)",
        ),
        (
            "Is the street dry?",
            "attribute",
            "select(cls=Road) -> verify(prop=surface, value=dry, negate=False)",
        ),
        (
            "Is it raining?",
            "attribute",
            "select(cls=Scene) -> verify(prop=weather, value=rain, negate=False)",
        ),
        ("What is left of the bus?", "spatial", "select(cls=Bus) -> relate(prop=leftOf, find=subject)"),
        (
            "What is to the right of the truck?",
            "spatial",
            "select(cls=Truck) -> relate(prop=leftOf, find=object)",
        ),
        (
            "Is anyone on the crosswalk?",
            "spatial",
            "select(cls=Pedestrian) -> on(prop=onCrosswalk) -> exist()",
        ),
        (
            "Which vehicle is closest to the crosswalk?",
            "spatial",
            "select(cls=Vehicle) -> closest(prop=distanceToCrosswalk, order=min)",
        ),
        (
            "How far is the car from the crosswalk?",
            "spatial",
            "select(cls=Car) -> query(prop=distanceToCrosswalk)",
        ),
        ("Must the car stop?", "knowledge", "select(cls=Car) -> rule(action=stop)"),
        ("Must the vehicles stop?", "knowledge", "select(cls=Vehicle) -> rule(action=stop)"),
        ("Is the road slippery?", "knowledge", "select(cls=Road) -> follow(prop=isSlippery, negate=False)"),
        ("Are there vulnerable road users?", "knowledge", "select(cls=VulnerableRoadUser) -> exist()"),
        ("Why is the road wet?", "explanation", "explain(variable=Road, value=wet)"),
        (
            "What happens to the braking distance if the road is dry?",
            "intervention",
            "do(target=BrakingDistance, do={Road: dry})",
        ),
        (
            "Would the car have stopped before the crosswalk if the road had been dry?",
            "counterfactual",
            "counterfactual(target=StopsInTime, value=1, do={Road: dry})",
        ),
        (
            "Had the road been dry, would the car have stopped in time?",
            "counterfactual",
            "counterfactual(target=StopsInTime, value=1, do={Road: dry})",
        ),
        (
            "Would the car have hit the pedestrian if the light had been green?",
            "counterfactual",
            "counterfactual(target=Collision, value=1, do={Light: green})",
        ),
    ],
)
def test_question_families_parse_to_known_programs(parser, question, family, program):
    parsed = parser.parse(question)
    assert parsed.family == family
    assert " -> ".join(map(str, parsed.ops)) == program
    assert 0.5 <= parsed.confidence <= 1.0


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_listed_example_parses(parser, example):
    assert parser.parse(example).ops


@pytest.mark.parametrize(
    ("question", "match"),
    [
        ("Paint the car blue", r"closest supported forms: .*'What colour is the traffic light\?'"),
        ("Is the road purple?", "no attribute value matches 'purple'"),
        ("Is there a lorry of dragons?", "no class of the knowledge graph matches"),
        ("", "question not understood"),
        ("Why is the moon made of cheese?", "no state of a causal variable matches"),
    ],
)
def test_questions_outside_the_grammar_say_why(parser, question, match):
    with pytest.raises(QuestionNotUnderstoodError, match=match) as info:
        parser.parse(question)
    assert len(info.value.suggestions) == 3


@given(st.text(alphabet="abcdefghij ?!.,'", max_size=40))
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("BrakingDistance", "braking distance"),
        ("Road", "road"),
        ("PedestrianOnCrosswalk", "pedestrian on crosswalk"),
    ],
)
def test_variable_names_read_as_words(name, words):
    assert variable_words(name) == words


def test_binary_variables_get_positive_and_negative_states():
    labels = {c.key: c.label for c in variable_concepts("Collision", [0, 1])}
    assert labels == {"Collision": "collision", "Collision=0": "no collision", "Collision=1": "collision"}


def test_lexicon_of_any_graph_resolves_by_meaning():
    lexicon = Lexicon.from_concepts(
        [Concept("ex:Dog", "dog", CLASS), Concept("ex:Cat", "cat", CLASS), Concept("ex:Ship", "ship", CLASS)]
    )
    assert lexicon.resolve("puppies", kinds={CLASS}).concept.key == "ex:Dog"
    assert lexicon.resolve("kitten", kinds={CLASS}).concept.key == "ex:Cat"
    assert lexicon.resolve("quantum chromodynamics", kinds={CLASS}) is None
