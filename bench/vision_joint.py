"""The compositional split of the vision benchmark: colour × type read by one joint classifier.

Grounding reads an object's type (on the grey crop) and its colour (on the colour
crop) with two separate prompt sets, so a held-out colour × type pair is two known
factors read apart: that tests no composition. The benchmark's joint rows read each
vehicle's colour crop with one classifier over all 24 ``"a {colour} {type}"``
captions, as CLEVR-CoGenT asks (Johnson et al., CVPR 2017): a held-out pair is read
right only if the image embedding of a green bus lands nearest the text "a green
bus", which no training step showed next to one.

Two models are read that way. The bundled one learned colours ("a green vehicle")
and types ("a bus", on grey crops) apart, from renders that never drew the held-out
pairs. This module trains the other: the same architecture (LiT: locked MiniLM
text tower, small ViT image tower) trained by :func:`mmreason.vision.train.train_clip`
on one joint caption per vehicle crop, from renders without the same pairs; the
three held-out captions never enter its loss.

The training data is a world written for the purpose (a temporary folder): an
ontology whose object types are the 24 colour × type pairs, a manifest that reads
them on colour crops, and a labels file cut from seeded crossing renders of the
training range (seeds 1,000,000 on, with the held-out pairs excluded by the
renderer). The trained model is cached (``$XDG_CACHE_HOME/mmreason/bench``, else
``~/.cache/mmreason/bench``) under a key of the recipe and the renderer's source,
so that later runs read it instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The namespace of the joint world's classes.
JOINT = "http://mmreason.org/bench/joint#"
#: Training renders: the crossing's training range (the benchmark evaluates on 10,000,000 on).
TRAIN_SEED = 1_000_000


@dataclass(frozen=True, slots=True)
class JointConfig:
    """How the joint model is trained: how many renders, steps and the seed."""

    renders: int
    steps: int
    seed: int = 0


#: The benchmark's recipe, full and ``--quick`` (a smoke run: fewer renders and steps).
FULL = JointConfig(renders=2500, steps=1200)
QUICK = JointConfig(renders=400, steps=200)


@dataclass(frozen=True, slots=True)
class JointModel:
    """A trained joint model: its folder, its recipe, and whether this run trained it."""

    folder: Path
    recipe: dict[str, Any]
    trained_now: bool
    seconds: float


def class_name(colour: str, kind: str) -> str:
    """The joint class of a pair: ``("green", "bus")`` → ``"GreenBus"``."""
    return colour.capitalize() + kind.capitalize()


def _ontology(colours: tuple[str, ...], kinds: tuple[str, ...]) -> str:
    lines = [
        f"@prefix j: <{JOINT}> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "",
        'j:Vehicle a rdfs:Class ; rdfs:label "vehicle" .',
    ]
    lines += [
        f'j:{class_name(c, k)} a rdfs:Class ; rdfs:subClassOf j:Vehicle ; rdfs:label "{c} {k}" .'
        for k in kinds
        for c in colours
    ]
    return "\n".join(lines) + "\n"


_MANIFEST = """\
name = "joint-colour-type"
description = "Vehicles of the crossing renders, each class one colour x type pair."
ontology = ["joint.ttl"]
encoder = "clip"

[vision]
objects = "j:Vehicle"
type_crop = "colour"
"""


def write_world(folder: Path, colours: tuple[str, ...], kinds: tuple[str, ...]) -> Path:
    """The joint world's ontology and manifest, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "joint.ttl").write_text(_ontology(colours, kinds), encoding="utf-8")
    (folder / "world.toml").write_text(_MANIFEST, encoding="utf-8")
    return folder


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mmreason" / "bench"


def _key(config: JointConfig, held_out: tuple[tuple[str, str], ...]) -> str:
    # The renderer's source is part of the key: a changed renderer trains a new model.
    from mmreason.worlds.crossing import COLOURS, VEHICLE_TYPES
    from mmreason.worlds.crossing import render as renderer

    source = Path(renderer.__file__).read_bytes()
    payload = json.dumps(
        {
            "config": asdict(config),
            "held_out": [list(p) for p in held_out],
            "ontology": _ontology(tuple(COLOURS), tuple(VEHICLE_TYPES)),
            "renderer_sha256": hashlib.sha256(source).hexdigest(),
            "train_seed": TRAIN_SEED,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def joint_model(
    config: JointConfig, held_out: tuple[tuple[str, str], ...], *, progress: bool = True
) -> JointModel:
    """The joint model of ``config``: read from the cache, or trained now and cached."""
    from mmreason.vision.encoder import read_recipe

    folder = _cache_root() / f"vision-joint-{_key(config, held_out)}"
    if (folder / "clip" / "recipe.json").is_file():
        recipe = read_recipe(folder / "clip")
        return JointModel(folder, recipe, False, float(recipe.get("train_seconds", 0.0)))
    start = time.perf_counter()
    _train(folder, config, held_out, progress)
    return JointModel(folder, read_recipe(folder / "clip"), True, time.perf_counter() - start)


def _train(folder: Path, config: JointConfig, held_out: tuple[tuple[str, str], ...], progress: bool) -> None:
    from tqdm.auto import tqdm

    from mmreason.vision.labels import write_labels
    from mmreason.vision.train import TrainConfig, train_clip
    from mmreason.worlds.crossing import COLOURS, HEIGHT, VEHICLE_TYPES, WIDTH, render_scene

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    world = write_world(partial, tuple(COLOURS), tuple(VEHICLE_TYPES))
    with tempfile.TemporaryDirectory(prefix="mmreason-joint-") as tmp:
        pictures = Path(tmp)
        rows = []
        seeds = range(TRAIN_SEED, TRAIN_SEED + config.renders)
        for seed in tqdm(seeds, desc="render joint training scenes", disable=not progress):
            image, truth = render_scene(seed, exclude_pairs=held_out)
            name = f"scene-{seed}.png"
            image.save(pictures / name)
            for obj in truth.objects:
                if obj.color is None:
                    continue
                x0, y0, x1, y1 = obj.bbox
                box = (max(0, x0), max(0, y0), min(WIDTH, x1), min(HEIGHT, y1))
                if box[2] > box[0] and box[3] > box[1]:
                    rows.append((name, box, "a", f"j:{class_name(obj.color, obj.type)}"))
        labels = write_labels(pictures / "labels.csv", rows)
        train_clip(
            world,
            TrainConfig(steps=config.steps, seed=config.seed, warmup_steps=max(1, config.steps // 30)),
            labels=labels,
            out=world / "clip",
            progress=progress,
        )
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
