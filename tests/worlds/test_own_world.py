"""A world built from nothing answers like a bundled one: the garden of tests/worlds/garden.py.

Its ontology, SCM, bindings and 240 labelled drawings are written by the test; its CLIP model is
trained by ``train_clip``; every answer below is derived by hand from the garden's files (the SCM's
numbers are in garden.py's docstring).
"""

from __future__ import annotations

import json

import pytest

from mmreason.errors import ImageError, QuestionNotUnderstoodError
from mmreason.vision.encoder import ClipEncoder
from tests.worlds.garden import G, draw

pytestmark = pytest.mark.slow

WINTER = draw(
    "winter",
    [
        ("Tomato", "red", (24, 60)),
        ("Tomato", "red", (60, 75)),
        ("Sunflower", None, (100, 55)),
        ("WateringCan", None, (95, 82)),
    ],
)[0]
SUMMER = draw("summer", [("Tomato", "green", (30, 65)), ("Sunflower", None, (90, 60))])[0]


def test_training_records_the_world_and_its_labels(garden):
    folder, result = garden
    recipe = json.loads(result.recipe.read_text())
    assert recipe["world"]["name"] == "garden"
    assert recipe["labels"]["sha256"] == result.labels_sha256
    assert min(result.accuracy.values()) >= 0.9, result.accuracy
    assert result.checkpoint.parent == folder / "clip"
    ClipEncoder.from_folder(folder / "clip", device="cpu")


def _winter_probability(reasoner, image) -> float:
    # P(Season=winter | the picture): the SCM's prior (1/2 each) times CLIP's likelihoods, floored at 0.01.
    season = reasoner.ground(image).attribute(G + "season")
    winter, summer = (max(season.distribution[G + s], 0.01) for s in ("winter", "summer"))
    return winter / (winter + summer)


@pytest.mark.parametrize(
    ("image", "question", "value"),
    [
        ("winter", "How many tomatoes are there?", 2),
        ("summer", "How many tomatoes are there?", 1),
        ("winter", "What colour is the sunflower?", "yellow"),
        ("summer", "What colour is the tomato?", "green"),
        ("winter", "Is there a watering can?", True),
        ("summer", "Is there a watering can?", False),
        ("winter", "What is the season?", "winter"),
        ("summer", "Is it winter?", False),
        # The rule "tomatoes need shelter in winter", its condition read off the picture.
        ("winter", "Does the tomato need shelter?", True),
        ("summer", "Does the tomato need shelter?", False),
        # Knowledge needs no picture: the class hierarchy, and a fact of a class above.
        (None, "Is a tomato a vegetable?", True),
        (None, "Is a sunflower a vegetable?", False),
        (None, "What kind of thing is a sunflower?", "flower"),
        (None, "Does a tomato need water?", True),
        (None, "Does a sunflower need sunlight?", True),
        (None, "Does the watering can need water?", False),
    ],
)
def test_attribute_count_knowledge_and_rule_questions(garden_reasoner, image, question, value):
    picture = {"winter": WINTER, "summer": SUMMER, None: None}[image]
    answer = garden_reasoner.ask(picture, question)
    assert answer.value == value, answer.explain()
    assert answer.confidence >= 0.5


def test_a_counterfactual_is_the_scm_on_the_pictures_evidence(garden_reasoner):
    # Had the sprinkler been on, the grass would be wet, so the path slippery exactly when it is
    # winter: P = P(winter | the picture).
    question = "Had the sprinkler been on, would the path have been slippery?"
    for image, expected in ((WINTER, True), (SUMMER, False)):
        answer = garden_reasoner.ask(image, question)
        p = _winter_probability(garden_reasoner, image)
        assert answer.value is expected
        assert f"(P={p:.2f})" in answer.text
    # With no picture, the prior: as likely as not, and said so.
    assert garden_reasoner.ask(None, question).value is None


def test_given_evidence_in_words(garden_reasoner):
    # P(Rain=1 | WetGrass=1) = P(Rain=1) / P(WetGrass=1) = 0.4 / (1/2·0.76 + 1/2·0.64) = 0.4 / 0.7.
    answer = garden_reasoner.ask(None, "Given the grass is wet, did it rain?")
    assert answer.value is True
    assert "(P=0.57)" in answer.text


def test_why_ranks_causes_against_the_same_other_evidence(garden_reasoner):
    pw = _winter_probability(garden_reasoner, WINTER)
    # Without seeing the wet grass: P(Rain=1 | picture) and P(Sprinkler=1 | picture).
    rain = pw * 0.6 + (1 - pw) * 0.2
    sprinkler = pw * 0.1 + (1 - pw) * 0.7
    wet = pw * 0.64 + (1 - pw) * 0.76  # P(WetGrass=1 | picture): 1 - P(no rain) P(no sprinkler)
    # Seeing it wet lifts rain by rain/wet - rain (0.34 in winter) and the sprinkler by far less.
    answer = garden_reasoner.ask(WINTER, "Why is the grass wet?")
    assert answer.value == "Rain=1"
    assert answer.confidence == pytest.approx(rain / wet, abs=0.01)
    assert f"P from {rain:.2f} to {rain / wet:.2f}" in answer.text
    assert sprinkler / wet - sprinkler < rain / wet - rain
    # A slippery path in winter: the season was already seen, so the wet grass explains it.
    slippery = garden_reasoner.ask(WINTER, "Why is the path slippery?")
    assert slippery.value == "WetGrass=1", slippery.explain()
    # In summer the sprinkler is the likelier cause of wet grass.
    assert garden_reasoner.ask(SUMMER, "Why is the grass wet?").value == "Sprinkler=1"


def test_a_question_the_world_cannot_answer_says_so(garden_reasoner):
    with pytest.raises(QuestionNotUnderstoodError, match="this world can be asked about"):
        garden_reasoner.ask(WINTER, "What is the temperature?")
    with pytest.raises(ImageError, match="none was given"):
        garden_reasoner.ask(None, "How many tomatoes are there?")


def test_the_cli_takes_the_world(garden, tmp_path):
    import subprocess
    import sys

    folder, _ = garden
    picture = tmp_path / "winter.png"
    WINTER.save(picture)
    run = [sys.executable, "-m", "mmreason", "--device", "cpu", "--world", str(folder)]
    proc = subprocess.run(
        [*run, "ask", str(picture), "How many tomatoes are there?", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"] == 2
    proc = subprocess.run(
        [*run, "ask", "-", "Is a tomato a vegetable?", "--json"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"] is True


def test_answering_writes_nothing_into_the_world(garden, garden_reasoner):
    folder, _ = garden

    def listing():
        return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}

    before = listing()
    garden_reasoner.ask(SUMMER, "How many tomatoes are there?")
    garden_reasoner.ask(None, "Given the grass is wet, did it rain?")
    assert listing() == before
