"""A second look at each box: a small reader of the crop the detector found.

The detector (:mod:`mmreason.worlds.tabletop.detector`) reads a thing's shape,
colour and material from one cell of a feature map that covers the whole
picture at a quarter of its resolution; a thing 16 pixels across is four cells
wide there. Like NS-VQA's attribute network (Yi et al., NeurIPS 2018), which
reads each segment of Mask R-CNN again, this module crops every box at full
resolution (a square around the box, half as wide again, resampled to 40×40
by RoIAlign), and a small convolutional network reads from the crop, from the
box's size and from where it stands in the picture:

* whether the box holds a thing at all (the detector also fires on a metal
  highlight, on a shadow or on one face of a cube);
* its shape, colour, material and size;
* where the thing's box really is: each edge's shift, as a share of the crop
  (the box regression of Fast R-CNN's second stage, Girshick, ICCV 2015). The
  detector's boxes for small things are coarse: its map is a quarter of the
  picture's resolution.

The detector proposes boxes at a threshold below its own (PROPOSAL_THRESHOLD),
so that things it is unsure of, mostly hidden ones, reach the second look;
grounding (:func:`mmreason.worlds.tabletop.readers._detect`) reads each box
again where the second look placed it, and the second look decides which hold
a thing. It is trained on renders in CLEVR's
layout that the detector was not trained on, where it errs as it will on new
pictures: every true box, its edges moved by a few pixels each time it is seen,
is a thing; every box the detector proposes is the thing it overlaps by 0.5
IoU or more, or no thing where it overlaps none by more than 0.3; and, since
the detector's stray boxes are mostly on part of a larger thing, part of a true
box, drawn at random each time and overlapping no true box by more than 0.3,
is no thing. Boxes overlapping a true one by 0.3 to 0.5 teach only where its
edges are. The last renders are held out, and the recipe records how the
second look reads the detector's proposals on them.
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

__all__ = ["CropReading", "load_reader", "named", "read_crops", "read_placed", "train_reader"]

#: The crop's side in the network's input (pixels).
CROP = 40
#: The crop is a square this much wider than the box's longer side, plus _PAD pixels (a
#: recipe that names none was trained at 1.25): wide enough to show the edges of a box found
#: too small, and whether a box holds a thing or part of a larger one.
_MARGIN = 1.5
_PAD = 4.0
_CHANNELS = 32
#: Logits: thing, large, metal, then one per shape and one per colour; then, where the reader
#: places boxes, the shift of each edge (x0, y0, x1, y1) as a share of the crop's side.
_CLASSES = 3 + len(SHAPES) + len(COLOURS)
_EDGES = 4
#: Per box in training: thing, large, metal, shape, colour; whether "a thing is there" is
#: taught, whether the edges are; the true box.
_LABELS = 11
#: How heavily the edges' loss counts beside the classes'.
_BOX_WEIGHT = 1.0
#: Share of each true box's side that a part of it drawn as no thing spans (low, high).
_PART = (0.3, 0.75)
#: How far each edge of a true box is moved in training, as a share of its side (sd).
_JITTER = 0.08
#: The detector's threshold when it proposes boxes to the second look: below its own (0.25), so
#: that things it is unsure of reach the second look, which decides (chosen on held-out renders
#: from 0.1 and 0.15; docs/tabletop.md), and the one at which it proposes the boxes the second
#: look learns from.
PROPOSAL_THRESHOLD = 0.1
#: A proposed box overlapping a true one by at least _THING_IOU is that thing; one overlapping no
#: true box by more than _EMPTY_IOU holds none; those between teach nothing and are left out.
_THING_IOU = 0.5
_EMPTY_IOU = 0.3
#: ... and one overlapping a true box by at least _EDGE_IOU teaches where that box's edges are.
_EDGE_IOU = 0.3
FOLDER = "crops"
WEIGHTS = "model.safetensors"
RECIPE = "recipe.json"


@dataclass(frozen=True, slots=True)
class CropReading:
    """What the second look reads in one box: P(a thing is there), P(large), P(metal), the
    probability of each shape (SHAPES' order) and each colour (COLOURS' order), and, where the
    reader places boxes, the thing's box (pixels of the picture read)."""

    p_thing: float
    p_large: float
    p_metal: float
    shapes: tuple[float, ...]
    colours: tuple[float, ...]
    bbox: tuple[int, int, int, int] | None = None


def _model(torch: Any, channels: int = _CHANNELS, outputs: int = _CLASSES + _EDGES) -> Any:
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
                nn.Linear(4 * c + 3, 4 * c), nn.ReLU(inplace=True), nn.Linear(4 * c, outputs)
            )

        def forward(self, crops: Any, where: Any) -> Any:
            return self.head(torch.cat([self.body(crops), where], dim=1))

    model = CropNet()
    # How it crops, and whether it reads where a box's edges are (a recipe may say otherwise).
    model.margin, model.edges = _MARGIN, outputs > _CLASSES
    return model


def _side(boxes: np.ndarray, margin: float = _MARGIN) -> np.ndarray:
    """The side of the square crop around each box (x0, y0, x1, y1)."""
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * margin + _PAD


def _squares(boxes: np.ndarray, margin: float = _MARGIN) -> np.ndarray:
    """Each box (x0, y0, x1, y1) as the square crop around it, in the same coordinates."""
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    side = _side(boxes, margin)
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def _where(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The box's log side and its centre in the picture, scaled to about [-1, 1]."""
    w, h = size
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).clip(min=1.0)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    return np.stack([np.log(side / 32.0), 2 * cx / w - 1, 2 * cy / h - 1], axis=1).astype(np.float32)


def _crops(torch: Any, images: Any, index: np.ndarray, boxes: np.ndarray, margin: float = _MARGIN) -> Any:
    """RoIAlign crops (K×3×CROP×CROP) of ``images`` (N×3×H×W float) at the square around each box;
    ``index`` says which picture each box is in."""
    from torchvision.ops import roi_align

    squares = _squares(boxes, margin).astype(np.float32)
    rois = np.concatenate([index[:, None].astype(np.float32), squares], axis=1)
    return roi_align(images, torch.from_numpy(rois), (CROP, CROP), sampling_ratio=2, aligned=True)


def _read(
    model: Any,
    torch: Any,
    images: Any,
    index: np.ndarray,
    boxes: np.ndarray,
    size: tuple[int, int],
    margin: float = _MARGIN,
) -> Any:
    return model(_crops(torch, images, index, boxes, margin), torch.from_numpy(_where(boxes, size)))


def _shifts(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """How far each edge of ``truth`` lies from the same edge of ``boxes``, as a share of the
    crop's side: what the reader learns to read."""
    return ((truth - boxes) / _side(boxes)[:, None]).astype(np.float32)


def _placed(
    boxes: np.ndarray, shifts: np.ndarray, size: tuple[int, int], margin: float = _MARGIN
) -> np.ndarray:
    """``boxes`` with their edges moved by ``shifts`` (see _shifts), inside the picture."""
    moved = boxes + shifts * _side(boxes, margin)[:, None]
    moved[:, [0, 2]] = moved[:, [0, 2]].clip(0, size[0])
    moved[:, [1, 3]] = moved[:, [1, 3]].clip(0, size[1])
    moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 1)
    return moved


# ------------------------------------------------------------------------------ training


def _proposals(
    images: Sequence[Image.Image], records: Sequence[Mapping[str, Any]], detector: Path, progress: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per render: the detector's boxes at PROPOSAL_THRESHOLD, each with its labels (_LABELS
    columns): those of the thing it finds, no thing for a box on none, only the true box's edges
    for one between (see _THING_IOU)."""
    from tqdm.auto import tqdm

    from mmreason.vision.proposals import box_iou
    from mmreason.worlds.tabletop.detector import _decode, load_detector

    model, calibration = load_detector(detector)
    out = []
    for image, record in tqdm(
        list(zip(images, records, strict=True)), desc="detector boxes", disable=not progress
    ):
        boxes, labels = [], []
        for d in _decode(model, calibration, image, threshold=PROPOSAL_THRESHOLD):
            best = max(record["objects"], key=lambda o: box_iou(d.bbox, tuple(o["bbox"])), default=None)
            overlap = box_iou(d.bbox, tuple(best["bbox"])) if best is not None else 0.0
            boxes.append(d.bbox)
            if overlap >= _THING_IOU:
                labels.append(_labels(best))
            elif overlap <= _EMPTY_IOU:
                labels.append(_EMPTY)
            else:
                labels.append((0.0,) * 5 + (0.0, 1.0, *best["bbox"]))
        out.append(
            (
                np.array(boxes, dtype=np.float32).reshape(-1, 4),
                np.array(labels, dtype=np.float32).reshape(-1, _LABELS),
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
    """A box on the thing ``obj`` (a scene record's object): its classes, both taught, its box."""
    return (
        1.0,
        1.0 if obj["size"] == "large" else 0.0,
        1.0 if obj["material"] == "metal" else 0.0,
        float(SHAPES.index(obj["shape"])),
        float(list(COLOURS).index(obj["color"])),
        1.0,
        1.0,
        *(float(v) for v in obj["bbox"]),
    )


#: A box on no thing: "a thing is there" taught (as no), nothing else.
_EMPTY = (0.0,) * 5 + (1.0, 0.0) + (0.0,) * 4


def _parts(boxes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One part of each true box of a render (``boxes``), each side a share _PART of the box's,
    kept where it overlaps no true box by more than _EMPTY_IOU and covers no other true box by
    half: the detector's usual stray box, on one face or highlight of a larger thing."""
    from mmreason.vision.proposals import box_iou

    parts = []
    for k, b in enumerate(boxes):
        w, h = (b[2] - b[0]) * rng.uniform(*_PART), (b[3] - b[1]) * rng.uniform(*_PART)
        x0, y0 = b[0] + rng.uniform(0, b[2] - b[0] - w), b[1] + rng.uniform(0, b[3] - b[1] - h)
        part = (float(x0), float(y0), float(x0 + w), float(y0 + h))
        if w < 4 or h < 4 or any(box_iou(part, tuple(o)) > _EMPTY_IOU for o in boxes):
            continue
        if any(j != k and _covered(o, part) >= 0.5 for j, o in enumerate(boxes)):
            continue
        parts.append(part)
    return np.array(parts, dtype=np.float32).reshape(-1, 4)


def _covered(box: np.ndarray, by: tuple[float, float, float, float]) -> float:
    """The share of ``box``'s area inside ``by``."""
    from mmreason.vision.proposals import box_intersection

    return float(box_intersection(tuple(box), by)) / max(float((box[2] - box[0]) * (box[3] - box[1])), 1.0)


def _loss(torch: Any, out: Any, labels: Any, shifts: Any) -> Any:
    """The loss of a batch of crops: "a thing is there" where taught; what the thing is where one
    is; where its edges are (smooth L1 on ``shifts``) where taught."""
    f = torch.nn.functional
    thing, judged, placed = labels[:, 0], labels[:, 5], labels[:, 6]
    there = f.binary_cross_entropy_with_logits(out[:, 0], thing, reduction="none")
    loss = (there * judged).sum() / judged.sum().clamp(min=1)
    # What a thing is, only where there is one.
    per = (
        f.binary_cross_entropy_with_logits(out[:, 1], labels[:, 1], reduction="none")
        + f.binary_cross_entropy_with_logits(out[:, 2], labels[:, 2], reduction="none")
        + f.cross_entropy(out[:, 3 : 3 + len(SHAPES)], labels[:, 3].long(), reduction="none")
        + f.cross_entropy(out[:, 3 + len(SHAPES) : _CLASSES], labels[:, 4].long(), reduction="none")
    )
    loss = loss + (per * thing).sum() / thing.sum().clamp(min=1)
    edges = f.smooth_l1_loss(out[:, _CLASSES:], shifts, beta=0.02, reduction="none").sum(dim=1)
    return loss + _BOX_WEIGHT * (edges * placed).sum() / placed.sum().clamp(min=1)


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
    labels = [
        np.array([_labels(o) for o in r["objects"]], dtype=np.float32).reshape(-1, _LABELS) for r in records
    ]
    model = _model(torch, channels)

    def loss_of(chosen: np.ndarray) -> Any:
        index, picked, wanted = [], [], []
        for slot, i in enumerate(chosen):
            b = boxes[i]
            side = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[:, None]
            moved = b + rng.normal(0.0, _JITTER, b.shape).astype(np.float32) * side
            moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 2)
            found, found_labels = proposed[i]
            parts = _parts(b, rng)
            picked += [moved, found, parts]
            wanted += [labels[i], found_labels, np.tile(np.array(_EMPTY, dtype=np.float32), (len(parts), 1))]
            index += [slot] * (len(b) + len(found) + len(parts))
        x = brightness(_scaled(torch, x_all[torch.from_numpy(chosen)]), rng)
        picked_all, wanted_all = np.concatenate(picked), np.concatenate(wanted)
        result = _read(model, torch, x, np.array(index), picked_all, size)
        shifts = _shifts(picked_all, wanted_all[:, 7:])
        return _loss(torch, result, torch.from_numpy(wanted_all), torch.from_numpy(shifts))

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
        "model": f"crop reader, {CROP}×{CROP} RoIAlign crops, {channels} channels, box edges",
        "channels": channels,
        "margin": _MARGIN,
        "edges": True,
        "train_scenes": len(train),
        "validation_scenes": validation,
        "renders": str(folder),
        "detector": str(detector),
        "proposal_threshold": PROPOSAL_THRESHOLD,
        "proposed_things": int(sum(ls[:, 0].sum() for _, ls in proposed)),
        "proposed_empty": int(sum(((ls[:, 0] == 0) & (ls[:, 5] == 1)).sum() for _, ls in proposed)),
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
    (boxes matching a true one at IoU ≥ 0.5), how well "a thing is there" tells those from
    stray boxes (overlapping none by 0.5), and, of the boxes overlapping a true one by _EDGE_IOU
    or more, how many overlap it by 0.5 as the detector placed them and as the second look does."""
    from mmreason.vision.proposals import box_iou
    from mmreason.worlds.tabletop.detector import _decode, load_detector

    det, calibration = load_detector(detector)
    right: dict[str, int] = {}
    matched = stray = stray_dropped = kept_dropped = near = near_placed = near_replaced = 0
    for image, record in zip(images, records, strict=True):
        found = _decode(det, calibration, image, threshold=PROPOSAL_THRESHOLD)
        if not found:
            continue
        readings = _run(model, image, [d.bbox for d in found])
        for d, r in zip(found, readings, strict=True):
            best = max(record["objects"], key=lambda o: box_iou(d.bbox, tuple(o["bbox"])))
            overlap = box_iou(d.bbox, tuple(best["bbox"]))
            if overlap >= _EDGE_IOU:
                near += 1
                near_placed += overlap >= 0.5
                near_replaced += box_iou(r.bbox or d.bbox, tuple(best["bbox"])) >= 0.5
            if overlap < 0.5:
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
        near_boxes=near,
        near_boxes_on_thing_as_detected=near_placed,
        near_boxes_on_thing_as_read=near_replaced,
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
    return _readings(model, torch, _tensor(torch, [rgb]), rgb.size, boxes)


def _readings(
    model: Any, torch: Any, x: Any, size: tuple[int, int], boxes: Sequence[tuple[float, float, float, float]]
) -> list[CropReading]:
    """What ``model`` reads in each box of the picture ``x`` (1×3×H×W, as the detector scales it)."""
    b = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    with torch.no_grad():
        out = _read(model, torch, x, np.zeros(len(b)), b, size, model.margin)
        p = torch.sigmoid(out[:, :3])
        shapes = torch.softmax(out[:, 3 : 3 + len(SHAPES)], dim=1)
        colours = torch.softmax(out[:, 3 + len(SHAPES) : _CLASSES], dim=1)
    placed = (
        _placed(b, out[:, _CLASSES:].numpy(), size, model.margin).round().astype(int) if model.edges else None
    )
    return [
        CropReading(
            float(p[k, 0]),
            float(p[k, 1]),
            float(p[k, 2]),
            tuple(float(v) for v in shapes[k]),
            tuple(float(v) for v in colours[k]),
            tuple(int(v) for v in placed[k]) if placed is not None else None,
        )
        for k in range(len(b))
    ]


@lru_cache(maxsize=4)
def _load(path: str) -> Any:
    import torch
    from safetensors.torch import load_file

    recipe = json.loads((Path(path).parent / RECIPE).read_text(encoding="utf-8"))
    edges = bool(recipe.get("edges", False))
    model = _model(torch, int(recipe.get("channels", _CHANNELS)), _CLASSES + (_EDGES if edges else 0))
    model.load_state_dict(load_file(path))
    model.margin = float(recipe.get("margin", 1.25))
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


def read_placed(
    image: Image.Image, boxes: Sequence[tuple[int, int, int, int]], folder: str | Path
) -> list[tuple[tuple[int, int, int, int], CropReading]]:
    """Each of ``boxes`` (pixels of ``image``) where the crop reader in ``folder`` places it, and
    what it reads there: it reads each box, moves its edges where it reads the thing's are, and
    reads it again as placed (the cascade of Cai and Vasconcelos, CVPR 2018). A box found off its
    thing reads as no thing, or as part of another, until it is placed on it. A reader that
    places no box reads each box once, where it is."""
    import torch

    model = load_reader(folder)
    if not boxes:
        return []
    from mmreason.worlds.tabletop.detector import _tensor

    rgb = image.convert("RGB")
    x = _tensor(torch, [rgb])
    first = _readings(model, torch, x, rgb.size, boxes)
    placed = [c.bbox or tuple(box) for c, box in zip(first, boxes, strict=True)]
    again = _readings(model, torch, x, rgb.size, placed) if model.edges else first
    return list(zip(placed, again, strict=True))


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
