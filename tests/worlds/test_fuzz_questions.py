"""No question, however garbled, gets a Python error out of ``ask``: only an answer or a MmreasonError.

Hypothesis throws random text and recombined fragments of real questions at both the crossing
and the garden world, with a picture and without one.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmreason.answer import Answer
from mmreason.errors import MmreasonError

pytestmark = pytest.mark.slow

# Each question must be answered or refused within 10 s; MMREASON_FUZZ_EXAMPLES sets the cases per world.
FUZZ = settings(
    max_examples=int(os.environ.get("MMREASON_FUZZ_EXAMPLES", "60")),
    deadline=10_000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FRAGMENTS = [
    *("how many", "is there", "are there", "what colour is", "what is", "which", "is", "are", "does", "must"),
    *("why is", "had", "would", "if", "given", "what happens to", "what kind of thing is", "will"),
    *("the", "a", "it", "not", "no", "one", "them", "of", "to", "left of", "right of", "closest to", "on"),
    *("car", "bus", "road", "light", "crosswalk", "pedestrian", "red", "wet", "dry", "stop", "speed"),
    *("tomato", "sunflower", "watering can", "winter", "grass", "path", "slippery", "water", "shelter"),
    *("rain", "sprinkler", "vegetable", "been", "have", "stopped in time", "braking distance", "?", ",", "!"),
]
QUESTIONS = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=9).map(" ".join),
)


def _ask_or_refuse(reasoner, image, question):
    try:
        answer = reasoner.ask(image, question)
    except MmreasonError:
        return
    assert isinstance(answer, Answer)
    assert 0.0 <= answer.confidence <= 1.0


@pytest.fixture(scope="module")
def crossing():
    from mmreason.reasoner import Reasoner
    from mmreason.worlds.crossing import render_scene

    reasoner, image = Reasoner.default(device="cpu"), render_scene(2)[0]
    reasoner.ask(image, "How many cars are there?")  # models loaded before the clock runs
    return reasoner, image


@FUZZ
@given(question=QUESTIONS, with_image=st.booleans())
def test_the_crossing_answers_or_refuses(crossing, question, with_image):
    reasoner, image = crossing
    _ask_or_refuse(reasoner, image if with_image else None, question)


@FUZZ
@given(question=QUESTIONS, with_image=st.booleans())
def test_the_garden_answers_or_refuses(garden_reasoner, question, with_image):
    from tests.worlds.test_own_world import WINTER

    _ask_or_refuse(garden_reasoner, WINTER if with_image else None, question)
