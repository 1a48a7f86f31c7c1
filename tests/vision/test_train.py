"""Training: batches hold each caption once per round; a tiny run is reproducible and loads back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmreason.errors import InvalidInputError
from mmreason.vision.encoder import ClipEncoder
from mmreason.vision.train import HELD_OUT_PAIRS, TrainConfig, _batches, _Examples, scene_examples, train_clip
from mmreason.vision.vocabulary import Vocabulary


def test_each_caption_appears_once_per_round():
    examples = _Examples()
    rng = np.random.default_rng(0)
    for i in range(40):
        examples.add(np.zeros((2, 2, 3), np.uint8), {"type": i % 4, "colour": i % 3})
    step = next(_batches(examples, rng, rounds=3))
    assert len(step) == 2 * 3
    for kind, captions, rows in step:
        assert captions == sorted(set(captions)) and len(rows) == len(captions)
        wanted = {"type": lambda r: r % 4, "colour": lambda r: r % 3}[kind]
        assert [wanted(r) for r in rows] == captions


def test_held_out_pairs_never_reach_training_examples():
    vocab = Vocabulary.from_file()
    _, objects = scene_examples(
        range(1_000_000, 1_000_060),
        vocab,
        size=16,
        exclude_pairs=HELD_OUT_PAIRS,
        rng=np.random.default_rng(0),
    )
    seen = {(o["colour"], o["type"]) for o in objects}
    assert not seen & set(HELD_OUT_PAIRS)
    assert {t for _, t in seen} >= {"car", "truck", "bus", "pedestrian"}


def test_config_is_validated():
    with pytest.raises(InvalidInputError, match="steps"):
        TrainConfig(steps=0)


@pytest.mark.slow
def test_a_tiny_run_is_reproducible_and_loads(tmp_path):
    config = TrainConfig(train_scenes=8, val_scenes=4, steps=2, warmup_steps=1)
    first = train_clip(config, out=tmp_path / "a", progress=False)
    second = train_clip(config, out=tmp_path / "b", progress=False)
    recipe_a = json.loads(first.recipe.read_text())
    recipe_b = json.loads(second.recipe.read_text())
    assert recipe_a["sha256"] == recipe_b["sha256"]
    assert recipe_a["data_split"]["held_out_pairs"] == [list(p) for p in HELD_OUT_PAIRS]
    assert recipe_a["recipe"]["steps"] == 2
    encoder = ClipEncoder.default(path=first.checkpoint, device="cpu")
    assert encoder.encode_images([encoder.blank_image()]).shape == (1, 384)
