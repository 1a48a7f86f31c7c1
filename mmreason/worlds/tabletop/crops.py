"""A second look at each box: a small classifier of the crop the detector found.

The detector (:mod:`mmreason.worlds.tabletop.detector`) reads a thing's shape,
colour and material from one cell of a feature map that covers the whole
picture at a quarter of its resolution; a thing 16 pixels across is four cells
wide there. Like NS-VQA's attribute network (Yi et al., NeurIPS 2018), which
reads each segment of Mask R-CNN again, this module crops every box at full
resolution (a square around the box, a quarter wider, resampled to 40×40 by
RoIAlign), and a small convolutional network reads from the crop, from the
box's size and from where it stands in the picture:

* whether the box holds a thing at all (the detector also fires on a metal
  highlight, on a shadow or on one face of a cube);
* its shape, colour, material and size.

The detector proposes boxes at a threshold below its own (PROPOSAL_THRESHOLD),
so that things it is unsure of, mostly hidden ones, reach the second look, and
the second look decides which hold a thing. It is trained on renders in CLEVR's
layout that the detector was not trained on, where it errs as it will on new
pictures: every true box, its edges moved by a few pixels each time it is seen,
is a thing; every box the detector proposes is the thing it overlaps by 0.5
IoU or more, or no thing where it overlaps none by more than 0.3. The last
renders are held out, and the recipe records how the second look reads the
detector's proposals on them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from mmreason.errors import MissingFileError
from mmreason.worlds.tabletop.render import COLOURS, SHAPES

if TYPE_CHECKING:
    from mmreason.worlds.tabletop.detector import Detection

__all__ = ["CropReading", "load_reader", "named", "read_crops", "train_reader"]

#: The crop's side in the network's input (pixels).
CROP = 40
#: The crop is a square this much wider than the box's longer side, plus _PAD pixels.
_MARGIN = 1.25
_PAD = 4.0
_CHANNELS = 32
#: Logits: thing, large, metal, then one per shape and one per colour.
_OUTPUTS = 3 + len(SHAPES) + len(COLOURS)
#: How far each edge of a true box is moved in training, as a share of its side (sd).
_JITTER = 0.08
#: The detector's threshold when it proposes boxes to the second look: below its own (0.25), so
#: that things it is unsure of reach the second look, which decides (chosen on held-out renders;
#: docs/tabletop.md).
PROPOSAL_THRESHOLD = 0.15
#: ... and when it proposes boxes for training: lower still, so that the second look learns from
#: more of the detector's doubtful boxes.
_TRAINING_THRESHOLD = 0.1
#: A proposed box overlapping a true one by at least _THING_IOU is that thing; one overlapping no
#: true box by more than _EMPTY_IOU holds none; those between teach nothing and are left out.
_THING_IOU = 0.5
_EMPTY_IOU = 0.3
FOLDER = "crops"
WEIGHTS = "model.safetensors"
RECIPE = "recipe.json"


@dataclass(frozen=True, slots=True)
class CropReading:
    """What the second look reads in one box: P(a thing is there), P(large), P(metal), and the
    probability of each shape (SHAPES' order) and each colour (COLOURS' order)."""

    p_thing: float
    p_large: float
    p_metal: float
    shapes: tuple[float, ...]
    colours: tuple[float, ...]


def _model(torch: Any, channels: int = _CHANNELS) -> Any:
    nn = torch.nn

    def block(cin: int, cout: int, stride: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    c = channels

    class CropNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                block(3, c),
                block(c, c, 2),
                block(c, 2 * c),
                block(2 * c, 2 * c, 2),
                block(2 * c, 4 * c),
                block(4 * c, 4 * c, 2),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
            # Beside what the crop shows: the box's side and where it is in the picture.
            self.head = nn.Sequential(
                nn.Linear(4 * c + 3, 4 * c), nn.ReLU(inplace=True), nn.Linear(4 * c, _OUTPUTS)
            )

        def forward(self, crops: Any, where: Any) -> Any:
            return self.head(torch.cat([self.body(crops), where], dim=1))

    return CropNet()


def _squares(boxes: np.ndarray) -> np.ndarray:
    """Each box (x0, y0, x1, y1) as the square crop around it, in the same coordinates."""
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * _MARGIN + _PAD
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def _where(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The box's log side and its centre in the picture, scaled to about [-1, 1]."""
    w, h = size
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).clip(min=1.0)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    return np.stack([np.log(side / 32.0), 2 * cx / w - 1, 2 * cy / h - 1], axis=1).astype(np.float32)


def _crops(torch: Any, images: Any, index: np.ndarray, boxes: np.ndarray) -> Any:
    """RoIAlign crops (K×3×CROP×CROP) of ``images`` (N×3×H×W float) at the square around each box;
    ``index`` says which picture each box is in."""
    from torchvision.ops import roi_align

    rois = np.concatenate([index[:, None].astype(np.float32), _squares(boxes).astype(np.float32)], axis=1)
    return roi_align(images, torch.from_numpy(rois), (CROP, CROP), sampling_ratio=2, aligned=True)


def _read(
    model: Any, torch: Any, images: Any, index: np.ndarray, boxes: np.ndarray, size: tuple[int, int]
) -> Any:
    return model(_crops(torch, images, index, boxes), torch.from_numpy(_where(boxes, size)))


# ------------------------------------------------------------------------------ training


def _proposals(
    images: Sequence[Image.Image], records: Sequence[Mapping[str, Any]], detector: Path, progress: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per render: the detector's boxes at _TRAINING_THRESHOLD, each with its labels: those of the
    thing it finds, or all 0 (no thing) for a box on none."""
    from tqdm.auto import tqdm

    from mmreason.vision.proposals import box_iou
    from mmreason.worlds.tabletop.detector import _decode, load_detector

    model, calibration = load_detector(detector)
    out = []
    for image, record in tqdm(
        list(zip(images, records, strict=True)), desc="detector boxes", disable=not progress
    ):
        boxes, labels = [], []
        for d in _decode(model, calibration, image, threshold=_TRAINING_THRESHOLD):
            best = max(record["objects"], key=lambda o: box_iou(d.bbox, tuple(o["bbox"])), default=None)
            overlap = box_iou(d.bbox, tuple(best["bbox"])) if best is not None else 0.0
            if overlap >= _THING_IOU or overlap <= _EMPTY_IOU:
                boxes.append(d.bbox)
                labels.append(_labels(best) if overlap >= _THING_IOU else (0.0,) * 5)
        out.append(
            (
                np.array(boxes, dtype=np.float32).reshape(-1, 4),
                np.array(labels, dtype=np.float32).reshape(-1, 5),
            )
        )
    return out


_NAMES = ("shape", "colour", "material", "size")


def named(reading: CropReading | Detection) -> tuple[str, str, str, str]:
    """The shape, colour, material and size a reading (the crop reader's or the detector's) gives
    the most probability."""
    return (
        SHAPES[int(np.argmax(reading.shapes))],
        list(COLOURS)[int(np.argmax(reading.colours))],
        "metal" if reading.p_metal > 0.5 else "rubber",
        "large" if reading.p_large > 0.5 else "small",
    )


def _labels(obj: Mapping[str, Any]) -> tuple[float, ...]:
    return (
        1.0,
        1.0 if obj["size"] == "large" else 0.0,
        1.0 if obj["material"] == "metal" else 0.0,
        float(SHAPES.index(obj["shape"])),
        float(list(COLOURS).index(obj["color"])),
    )


def _loss(torch: Any, out: Any, labels: Any) -> Any:
    f = torch.nn.functional
    thing = labels[:, 0]
    loss = f.binary_cross_entropy_with_logits(out[:, 0], thing)
    count = thing.sum().clamp(min=1)
    # What a thing is, only where there is one.
    per = (
        f.binary_cross_entropy_with_logits(out[:, 1], labels[:, 1], reduction="none")
        + f.binary_cross_entropy_with_logits(out[:, 2], labels[:, 2], reduction="none")
        + f.cross_entropy(out[:, 3 : 3 + len(SHAPES)], labels[:, 3].long(), reduction="none")
        + f.cross_entropy(out[:, 3 + len(SHAPES) :], labels[:, 4].long(), reduction="none")
    )
    return loss + (per * thing).sum() / count


def train_reader(
    folder: str | Path,
    out: str | Path,
    *,
    detector: str | Path,
    epochs: int = 8,
    batch: int = 16,
    lr: float = 2e-3,
    seed: int = 0,
    validation: int = 200,
    channels: int = _CHANNELS,
    progress: bool = True,
) -> dict[str, Any]:
    """Train on a render folder in CLEVR's layout (``batch`` renders, all their boxes, a step);
    write ``out/model.safetensors`` and ``out/recipe.json``. ``detector`` is the folder of the
    detector whose proposals it learns to judge (give renders it was not trained on). The last
    ``validation`` renders are held out; the recipe records how the second look reads the
    detector's proposals on them."""
    import torch

    from mmreason.worlds.tabletop.detector import _bytes, _scaled
    from mmreason.worlds.tabletop.training import brightness, fit, read_renders, save_weights

    folder, out, detector = Path(folder), Path(out), Path(detector)
    records, images = read_renders(folder, validation)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    size = images[0].size
    train = list(range(len(records) - validation))
    proposed = _proposals([images[i] for i in train], [records[i] for i in train], detector, progress)
    x_all = _bytes(torch, images)
    boxes = [np.array([o["bbox"] for o in r["objects"]], dtype=np.float32).reshape(-1, 4) for r in records]
    labels = [np.array([_labels(o) for o in r["objects"]], dtype=np.float32).reshape(-1, 5) for r in records]
    model = _model(torch, channels)

    def loss_of(chosen: np.ndarray) -> Any:
        index, picked, wanted = [], [], []
        for slot, i in enumerate(chosen):
            b = boxes[i]
            side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[:, None]
            moved = b + rng.normal(0.0, _JITTER, b.shape).astype(np.float32) * side
            moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 2)
            found, found_labels = proposed[i]
            picked += [moved, found]
            wanted += [labels[i], found_labels]
            index += [slot] * (len(b) + len(found))
        x = brightness(_scaled(torch, x_all[torch.from_numpy(chosen)]), rng)
        result = _read(model, torch, x, np.array(index), np.concatenate(picked), size)
        return _loss(torch, result, torch.from_numpy(np.concatenate(wanted)))

    started = time.perf_counter()
    fit(
        model,
        train,
        loss_of,
        epochs=epochs,
        batch=batch,
        lr=lr,
        rng=rng,
        desc="train crop reader",
        progress=progress,
    )
    save_weights(model, out / WEIGHTS)
    _load.cache_clear()
    held = list(range(len(records) - validation, len(records)))
    figures = _validate(model, [images[i] for i in held], [records[i] for i in held], detector)
    recipe = {
        "model": f"crop classifier, {CROP}×{CROP} RoIAlign crops, {channels} channels",
        "channels": channels,
        "train_scenes": len(train),
        "validation_scenes": validation,
        "renders": str(folder),
        "detector": str(detector),
        "proposal_threshold": _TRAINING_THRESHOLD,
        "proposed_things": int(sum(ls[:, 0].sum() for _, ls in proposed)),
        "proposed_empty": int(sum((ls[:, 0] == 0).sum() for _, ls in proposed)),
        "epochs": epochs,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "validation": figures,
    }
    (out / RECIPE).write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    return recipe


def _validate(
    model: Any, images: Sequence[Image.Image], records: Sequence[Mapping[str, Any]], detector: Path
) -> dict[str, float]:
    """On the detector's proposals: each attribute read by the second look and by the detector
    (boxes matching a true one at IoU ≥ 0.5), and how well "a thing is there" tells those from
    stray boxes (overlapping none by 0.5)."""
    from mmreason.vision.proposals import box_iou
    from mmreason.worlds.tabletop.detector import _decode, load_detector

    det, calibration = load_detector(detector)
    right: dict[str, int] = {}
    matched = stray = stray_dropped = kept_dropped = 0
    for image, record in zip(images, records, strict=True):
        found = _decode(det, calibration, image, threshold=PROPOSAL_THRESHOLD)
        if not found:
            continue
        readings = _run(model, image, [d.bbox for d in found])
        for d, r in zip(found, readings, strict=True):
            best = max(record["objects"], key=lambda o: box_iou(d.bbox, tuple(o["bbox"])))
            if box_iou(d.bbox, tuple(best["bbox"])) < 0.5:
                stray += 1
                stray_dropped += r.p_thing < 0.5
                continue
            matched += 1
            kept_dropped += r.p_thing < 0.5
            truth = (best["shape"], best["color"], best["material"], best["size"])
            for name, ours, theirs, wanted in zip(_NAMES, named(r), named(d), truth, strict=True):
                right[name] = right.get(name, 0) + (ours == wanted)
                right["detector_" + name] = right.get("detector_" + name, 0) + (theirs == wanted)
    figures = {f"{name}_accuracy": n / max(matched, 1) for name, n in sorted(right.items())}
    figures.update(
        matched_boxes=matched,
        stray_boxes=stray,
        stray_boxes_dropped=stray_dropped,
        matched_boxes_dropped=kept_dropped,
    )
    return figures


# ------------------------------------------------------------------------------ inference


def _run(
    model: Any, image: Image.Image, boxes: Sequence[tuple[float, float, float, float]]
) -> list[CropReading]:
    import torch

    if not boxes:
        return []
    from mmreason.worlds.tabletop.detector import _tensor

    rgb = image.convert("RGB")
    x = _tensor(torch, [rgb])
    b = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    with torch.no_grad():
        out = _read(model, torch, x, np.zeros(len(b)), b, rgb.size)
        p = torch.sigmoid(out[:, :3])
        shapes = torch.softmax(out[:, 3 : 3 + len(SHAPES)], dim=1)
        colours = torch.softmax(out[:, 3 + len(SHAPES) :], dim=1)
    return [
        CropReading(
            float(p[k, 0]),
            float(p[k, 1]),
            float(p[k, 2]),
            tuple(float(v) for v in shapes[k]),
            tuple(float(v) for v in colours[k]),
        )
        for k in range(len(b))
    ]


@lru_cache(maxsize=4)
def _load(path: str) -> Any:
    import torch
    from safetensors.torch import load_file

    recipe = json.loads((Path(path).parent / RECIPE).read_text(encoding="utf-8"))
    model = _model(torch, int(recipe.get("channels", _CHANNELS)))
    model.load_state_dict(load_file(path))
    model.eval()
    return model


def load_reader(folder: str | Path) -> Any:
    """The crop reader stored in ``folder`` (``model.safetensors``, ``recipe.json``)."""
    path = Path(folder) / WEIGHTS
    if not path.is_file():
        raise MissingFileError(
            f"{path}: no tabletop crop reader here (train one: python -m mmreason.worlds.tabletop.crops)"
        )
    return _load(str(path))


def read_crops(
    image: Image.Image, boxes: Sequence[tuple[float, float, float, float]], folder: str | Path
) -> list[CropReading]:
    """What the crop reader in ``folder`` reads in each of ``boxes`` (pixels of ``image``)."""
    return _run(load_reader(folder), image, boxes)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mmreason.worlds.tabletop.crops",
        description="train the tabletop crop reader on renders (mmreason render --world tabletop --out DIR)",
    )
    parser.add_argument("renders", help="a folder with scenes.json and images/")
    parser.add_argument("--out", required=True, help="the folder to write the reader into")
    parser.add_argument(
        "--detector", required=True, help="the detector folder whose stray boxes it learns to drop"
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=_CHANNELS, help="the network's width")
    parser.add_argument("--validation", type=int, default=200, help="renders held out (the last ones)")
    args = parser.parse_args(argv)
    recipe = train_reader(
        args.renders,
        args.out,
        detector=args.detector,
        epochs=args.epochs,
        seed=args.seed,
        channels=args.channels,
        validation=args.validation,
    )
    print(json.dumps(recipe["validation"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
