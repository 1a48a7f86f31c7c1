"""What grounding reads on a tabletop picture beyond CLIP: where things are, and how big.

:func:`propose_regions` gives grounding the boxes of the world's detector
(:mod:`mmreason.worlds.tabletop.detector`) instead of colour segments, so
touching and half-hidden things are found one by one. :func:`read_geometry`
adds what the detector reads at each box: where the thing stands on the table
(``tt:across`` and ``tt:depth``, metres in the camera's frame, from which the
world's ``[questions.relations]`` decide left/right/front/behind) and its size
(``tt:size``): a square crop, resized for CLIP, no longer shows whether a
thing is small and near or large and far; the box at its depth does.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from mmreason.worlds.tabletop.render import HEIGHT, TT_IRI, WIDTH

if TYPE_CHECKING:
    from mmreason.vision.encoder import ClipEncoder
    from mmreason.vision.grounding import SceneGraph
    from mmreason.vision.proposals import Region
    from mmreason.vision.vocabulary import Vocabulary
    from mmreason.worlds.tabletop.detector import Detection

__all__ = ["propose_regions", "read_geometry"]

ACROSS, DEPTH, SIZE = TT_IRI + "across", TT_IRI + "depth", TT_IRI + "size"
LARGE, SMALL = TT_IRI + "large", TT_IRI + "small"


def _folder() -> Path:
    from mmreason.worlds import bundled_world_dir
    from mmreason.worlds.tabletop.detector import FOLDER

    return bundled_world_dir("tabletop") / FOLDER


def _working(image: Image.Image) -> tuple[Image.Image, float, float]:
    """The picture at the size the detector was trained on, and the factors back."""
    rgb = image.convert("RGB")
    if rgb.size == (WIDTH, HEIGHT):
        return rgb, 1.0, 1.0
    return rgb.resize((WIDTH, HEIGHT), Image.BILINEAR), rgb.size[0] / WIDTH, rgb.size[1] / HEIGHT


@lru_cache(maxsize=8)
def _detections(key: str, image: Image.Image) -> tuple[Detection, ...]:
    from mmreason.worlds.tabletop.detector import detect

    working, fx, fy = _working(image)
    found = detect(working, _folder())
    return tuple(
        replace(
            d,
            bbox=(round(d.bbox[0] * fx), round(d.bbox[1] * fy), round(d.bbox[2] * fx), round(d.bbox[3] * fy)),
        )
        for d in found
    )


def _detect(image: Image.Image) -> tuple[Detection, ...]:
    rgb = image.convert("RGB")
    key = hashlib.sha256(repr(rgb.size).encode() + rgb.tobytes()).hexdigest()
    return _detections(key, rgb)


def propose_regions(image: Image.Image) -> list[Region]:
    """The detector's boxes, left to right, as grounding's regions."""
    from mmreason.vision.proposals import Region

    return [
        Region(d.bbox, "world", (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1])) for d in _detect(image)
    ]


def read_geometry(
    scene: SceneGraph, image: Image.Image, *, encoder: ClipEncoder, vocabulary: Vocabulary
) -> SceneGraph:
    """``scene`` with each object's place on the table and its size, read by the detector at its box."""
    from mmreason.vision.grounding import Attribute
    from mmreason.vision.proposals import box_iou

    if scene.proposer != "world":
        return scene
    detections = _detect(image)
    sizes = {c.iri: c for c in vocabulary.of(SIZE)} if SIZE in vocabulary.values else {}
    objects = []
    for obj in scene.objects:
        best = max(detections, key=lambda d: box_iou(d.bbox, obj.bbox), default=None)
        if best is None or box_iou(best.bbox, obj.bbox) < 0.5:
            objects.append(obj)
            continue
        obj = obj.with_measures({ACROSS: best.across, DEPTH: best.depth})
        if LARGE in sizes and SMALL in sizes:
            large = best.p_large >= 0.5
            attribute = Attribute(
                sizes[LARGE if large else SMALL],
                sizes[LARGE if large else SMALL].label,
                best.p_large if large else 1 - best.p_large,
                {LARGE: best.p_large, SMALL: 1 - best.p_large},
                how="the detector, from the box at the thing's depth",
            )
            obj = obj.with_attribute(SIZE, attribute)
        objects.append(obj)
    note = "places on the table (metres, camera frame) and sizes read by the tabletop detector"
    return replace(scene, objects=tuple(objects), notes=(*scene.notes, note))
