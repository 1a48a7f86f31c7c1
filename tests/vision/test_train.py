"""Training from labels: each caption once per round, a stable split, a reproducible run that loads back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmreason.errors import InvalidInputError, WorldError
from mmreason.vision.encoder import ClipEncoder, file_sha256, lit_model_config
from mmreason.vision.labels import LabelRow, read_labels, write_labels
from mmreason.vision.train import TrainConfig, _batches, _cut, _Example, held_out, train_clip
from mmreason.worlds import World
from tests.vision.test_labels import make_toy_world

SH = "http://example.org/shapes#"


def test_each_caption_appears_once_per_round():
    # Example i has caption i % 4 for "type" and i % 3 for "colour".
    by_kind = {
        "type": {c: [i for i in range(40) if i % 4 == c] for c in range(4)},
        "colour": {c: [i for i in range(40, 80) if i % 3 == c] for c in range(3)},
    }
    step = next(_batches(by_kind, np.random.default_rng(0), rounds=3, max_captions=8))
    assert [kind for kind, _, _ in step] == ["colour"] * 3 + ["type"] * 3
    for kind, captions, picks in step:
        modulus = {"type": 4, "colour": 3}[kind]
        assert captions == list(range(modulus))
        assert [p % modulus for p in picks] == captions


def test_a_kind_with_many_captions_draws_max_captions_distinct_ones():
    by_kind = {"type": {c: [c] for c in range(10)}}
    for _, captions, picks in next(_batches(by_kind, np.random.default_rng(1), rounds=2, max_captions=4)):
        assert len(set(captions)) == 4 and captions == sorted(captions) and picks == captions


def test_the_split_is_a_stable_hash_of_the_image_name():
    names = [f"images/{i:04d}.png" for i in range(2000)]
    held = [n for n in names if held_out(n, 0.15)]
    assert held == [n for n in names if held_out(n, 0.15)]
    assert 0.12 < len(held) / len(names) < 0.18
    assert set(held) <= {n for n in names if held_out(n, 0.3)}  # a larger share only adds images


def _example(box, prop="a", kind="type"):
    return _Example(LabelRow(Path("x.png"), box, prop, "v", 2), kind, 0)


def test_crops_known_answers():
    image = Image.new("RGB", (40, 20), (200, 0, 0))
    image.paste((0, 0, 200), (10, 0, 30, 20))  # a blue centre square, red sides
    config = TrainConfig()
    whole = _cut(
        image, _example(None, f"{SH}light", f"{SH}light"), size=8, grey=True, config=config, rng=None
    )
    assert whole.shape == (8, 8, 3) and (whole == (0, 0, 200)).all()  # the centre square only
    red = _cut(
        image,
        _example((0, 5, 5, 10), f"{SH}colour", f"{SH}colour"),
        size=8,
        grey=True,
        config=config,
        rng=None,
    )
    assert tuple(red[4, 4]) == (200, 0, 0)  # attributes in colour
    grey = _cut(image, _example((0, 5, 5, 10)), size=8, grey=True, config=config, rng=None)
    assert grey[4, 4, 0] == grey[4, 4, 1] == grey[4, 4, 2] == 60  # types in grey: luma of (200, 0, 0)
    jittered = _cut(
        image, _example((0, 5, 5, 10)), size=8, grey=True, config=config, rng=np.random.default_rng(0)
    )
    assert jittered[4, 4, 0] != 60 and (jittered[..., 0] == jittered[..., 2]).all()


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"steps": 0}, "steps"),
        ({"val_share": 1.0}, "val_share"),
        ({"crop_pad": (0.5, 0.1)}, "crop_pad"),
        ({"max_captions": 1}, "max_captions"),
        ({"lr": 0.0}, "lr"),
        ({"stepz": 3}, "stepz"),
    ],
)
def test_config_is_validated(tmp_path, settings, match):
    world = make_toy_world(tmp_path / "shapes", images=2)
    with pytest.raises(InvalidInputError, match=match):
        TrainConfig.for_world(world, **settings)


def test_settings_beat_the_manifest_which_beats_the_defaults(tmp_path):
    world = make_toy_world(tmp_path / "shapes", images=2)
    assert TrainConfig.for_world(world).steps == 8  # the manifest's [training] steps
    assert TrainConfig.for_world(world, steps=3).steps == 3
    assert TrainConfig.for_world(world).lr == TrainConfig().lr


def test_a_labels_file_outside_any_world_asks_for_the_world(tmp_path):
    make_toy_world(tmp_path / "shapes", images=2)
    lone = tmp_path / "elsewhere" / "labels.csv"
    lone.parent.mkdir()
    lone.write_text((tmp_path / "shapes" / "labels.csv").read_text())
    with pytest.raises(WorldError, match="pass the world"):
        train_clip(lone, progress=False)


def test_a_world_without_labels_names_the_key(tmp_path):
    root = make_toy_world(tmp_path / "shapes", images=2)
    manifest = root / "world.toml"
    manifest.write_text(manifest.read_text().replace('labels = "labels.csv"\n', ""))
    with pytest.raises(WorldError, match=r"world\.toml: training\.labels") as caught:
        train_clip(root, progress=False)
    assert caught.value.key == "training.labels"


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_tiny_run_is_reproducible_loads_and_writes_only_its_folder(tmp_path):
    root = make_toy_world(tmp_path / "shapes", images=40)
    world = World.load(root)
    # Held-out images keep their type rows but lose their lighting: that kind has no validation rows.
    rows = read_labels(world.labels, world).rows
    held = {r.image for r in rows if held_out(r.image.relative_to(root).as_posix(), 0.15)}
    assert held
    kept = [
        (r.image, r.box, r.property, r.value) for r in rows if not (r.image in held and "light" in r.property)
    ]
    labels = write_labels(root / "some.csv", kept)
    before = _files(tmp_path)

    first = train_clip(world, labels=labels, progress=False)  # out: <world root>/clip
    second = train_clip(labels, out=tmp_path / "again", progress=False)  # the world is found above the CSV

    assert first.checkpoint == root / "clip" / "model.safetensors"
    assert file_sha256(first.checkpoint) == file_sha256(second.checkpoint)
    after = _files(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(set(after) - set(before)) == [
        "again/model.safetensors",
        "again/recipe.json",
        "shapes/clip/model.safetensors",
        "shapes/clip/recipe.json",
    ]
    recipe = json.loads(first.recipe.read_text())
    assert recipe["labels"] == {"file": "some.csv", "sha256": file_sha256(labels)}
    assert recipe["world"] == {"name": "shapes", "manifest": "../world.toml"}
    assert recipe["recipe"]["steps"] == 8 and recipe["model_config"] == lit_model_config()
    assert recipe["data"]["held_out_images"] == len(held)
    assert recipe["validation_accuracy"][f"{SH}light"] is None
    assert math.isnan(first.accuracy[f"{SH}light"]) and 0 <= first.accuracy["type"] <= 1
    assert first.labels_sha256 == recipe["labels"]["sha256"] and first.world == "shapes"
    encoder = ClipEncoder.from_folder(first.checkpoint.parent, device="cpu")
    assert encoder.encode_images([encoder.blank_image()]).shape == (1, 384)
