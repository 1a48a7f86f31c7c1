"""One Reasoner shared by 8 threads: the same answers as asked one by one, and no exception."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from mmreason.reasoner import Reasoner
from mmreason.worlds.crossing import render_scene

pytestmark = pytest.mark.slow

QUESTIONS = (
    "How many cars are there?",
    "What colour is the traffic light?",
    "Is the road wet?",
    "Which vehicle is closest to the crosswalk?",
    "Must the vehicles stop?",
    "Is a bus a vehicle?",
    "Had the road been dry, would the car have stopped in time?",
    "Why is the road wet?",
)


def test_threads_share_a_reasoner():
    reasoner = Reasoner.default(device="cpu")
    images = [render_scene(seed)[0] for seed in (2, 5, 8)]
    cases = [(i, q) for i in range(len(images)) for q in QUESTIONS]
    expected = {case: _answer(reasoner, images, case) for case in cases}
    asked = random.Random(0).choices(cases, k=1000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda case: _answer(reasoner, images, case), asked))
    assert got == [expected[case] for case in asked]


def _answer(reasoner, images, case):
    image, question = case
    answer = reasoner.ask(images[image], question)
    return answer.value, round(answer.confidence, 9), answer.text
