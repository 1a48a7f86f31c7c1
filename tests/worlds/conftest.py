"""The garden world of tests/worlds/garden.py, built and trained once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def garden(tmp_path_factory):
    """(the world folder, its training result): 240 drawings, trained with the manifest's recipe."""
    from mmreason.vision.train import train_clip
    from tests.worlds.garden import build

    folder = build(tmp_path_factory.mktemp("worlds") / "garden")
    return folder, train_clip(folder, progress=False)


@pytest.fixture(scope="session")
def garden_reasoner(garden):
    from mmreason.reasoner import Reasoner

    reasoner = Reasoner.from_world(garden[0], device="cpu")
    reasoner.ask(None, "Is a tomato a vegetable?")  # the text model loaded once, up front
    return reasoner
