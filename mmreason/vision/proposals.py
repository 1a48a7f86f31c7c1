"""Region proposals: where in an image the objects may be.

Two proposers, both class-agnostic (what a region shows is left to CLIP):

* :func:`segment_regions` — for pictures on a plain background, or on bands of
  plain background (a world's proposer names its bands, as the crossing's
  street does): each band is modelled by its dominant colours, pixels far from
  all of them are foreground, thin structures (rain) are removed by a
  morphological opening, and each connected component is one region (the
  classic background-subtraction + connected-components pipeline).
* :func:`grid_regions` — for any photo: square sliding windows at several
  scales (as in the sliding-window detectors before region CNNs).

>>> from PIL import ImageDraw
>>> picture = Image.new("RGB", (120, 80), (240, 240, 240))
>>> ImageDraw.Draw(picture).ellipse((10, 10, 40, 40), fill=(200, 30, 30))
>>> ImageDraw.Draw(picture).rectangle((70, 30, 100, 60), fill=(30, 30, 200))
>>> [r.bbox for r in segment_regions(picture)]
[(10, 10, 41, 41), (70, 30, 101, 61)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from mmreason.errors import InvalidInputError

__all__ = [
    "Region",
    "box_intersection",
    "box_iou",
    "greyscale",
    "grid_regions",
    "rear_box",
    "segment_regions",
    "square_crop",
]

# Two colours closer than this (Euclidean, 0-255 RGB) are the same background colour.
_BACKGROUND_TOLERANCE = 36.0
# A colour is part of a band's background when it covers at least this share of the band.
_BACKGROUND_SHARE = 0.12
_MIN_AREA = 60


@dataclass(frozen=True, slots=True)
class Region:
    """A proposed region: its box ``(x0, y0, x1, y1)`` (exclusive ends), how it was found, its pixel area."""

    bbox: tuple[int, int, int, int]
    source: str  # "segment" or "grid"
    area: int

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.bbox
        return ((x0 + x1) / 2, (y0 + y1) / 2)


def square_crop(
    image: Image.Image, bbox: Sequence[float], *, pad: float = 0.2, shift: tuple[float, float] = (0.0, 0.0)
) -> Image.Image:
    """The square around a box, ``pad`` of its longer side added, centred (plus ``shift`` × side).

    Parts outside the image are black, so the object keeps its aspect ratio.

    >>> square_crop(Image.new("RGB", (100, 50)), (10, 10, 30, 20), pad=0.0).size
    (20, 20)
    """
    x0, y0, x1, y1 = (float(v) for v in bbox)
    if x1 <= x0 or y1 <= y0:
        raise InvalidInputError(f"bbox must have x1 > x0 and y1 > y0, found {tuple(bbox)}")
    side = max(x1 - x0, y1 - y0) * (1.0 + pad)
    cx = (x0 + x1) / 2 + shift[0] * side
    cy = (y0 + y1) / 2 + shift[1] * side
    half = side / 2
    box = (round(cx - half), round(cy - half), round(cx - half) + max(1, round(side)))
    return image.crop((box[0], box[1], box[2], box[1] + (box[2] - box[0])))


def rear_box(bbox: Sequence[int], *, facing_right: bool, side: int = 20) -> tuple[int, int, int, int]:
    """A square of ``side`` px at a vehicle's rear, low on its body: where a brake lamp is.

    Read on its own square, a lamp of a few pixels fills a sixth of the encoder's input
    instead of a fortieth of a crop of the whole bus.

    >>> rear_box((100, 200, 164, 236), facing_right=True)
    (94, 215, 114, 235)
    >>> rear_box((100, 200, 164, 236), facing_right=False)
    (150, 215, 170, 235)
    """
    x0, _, x1, y1 = (int(v) for v in bbox)
    behind = side * 3 // 10  # part of the square behind the rear, so the lamp sits inside it
    left = x0 - behind if facing_right else x1 + behind - side
    return (left, y1 - 1 - side, left + side, y1 - 1)


def greyscale(image: Image.Image) -> Image.Image:
    """The image in grey (ITU-R 601 luma), kept as RGB for the encoder.

    Object classes are scored on the grey crop, so that a class is read from its
    shape: a model that never saw a green bus must not call it a truck for its paint.

    >>> greyscale(Image.new("RGB", (1, 1), (255, 0, 0))).getpixel((0, 0))
    (76, 76, 76)
    """
    return image.convert("L").convert("RGB")


def _background_colours(pixels: np.ndarray) -> np.ndarray:
    # Dominant colours of a band (or of a frame's pixels): 16-level bins covering at least
    # _BACKGROUND_SHARE of it, as bin means.
    flat = pixels.reshape(-1, 3).astype(np.int32)
    keys = (flat[:, 0] // 16) * 256 + (flat[:, 1] // 16) * 16 + flat[:, 2] // 16
    counts = np.bincount(keys, minlength=4096)
    dominant = np.flatnonzero(counts >= _BACKGROUND_SHARE * len(flat))
    return np.array([flat[keys == k].mean(axis=0) for k in dominant], dtype=np.float32).reshape(-1, 3)


Band = tuple[int, int, int, int]


def foreground_mask(image: Image.Image, bands: Sequence[Band] | None = None) -> np.ndarray:
    """A boolean ``[H, W]`` mask of what is not background, thin structures removed.

    ``bands`` are boxes ``(x0, y0, x1, y1)`` that each have a background of their own, its
    dominant colours; by default the whole image is one band whose background is what its
    frame (the outer two pixels) shows, so objects inside it are never taken for background.
    """
    from scipy import ndimage

    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = array.shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    frame = None
    if bands is None:
        bands = [(0, 0, width, height)]
        ring = np.ones((height, width), dtype=bool)
        ring[2:-2, 2:-2] = False
        frame = array[ring]
    for x0, y0, x1, y1 in bands:
        band = array[y0:y1, x0:x1]
        colours = _background_colours(band if frame is None else frame)
        if len(colours) == 0:
            mask[y0:y1, x0:x1] = True
            continue
        distance = np.linalg.norm(band[:, :, None, :] - colours[None, None], axis=-1).min(axis=-1)
        mask[y0:y1, x0:x1] = distance > _BACKGROUND_TOLERANCE
    # Rain streaks are one pixel wide: an opening with a 3×3 square removes them.
    return ndimage.binary_opening(mask, structure=np.ones((3, 3), dtype=bool))


def segment_regions(
    image: Image.Image, *, bands: Sequence[Band] | None = None, min_area: int = _MIN_AREA
) -> list[Region]:
    """Class-agnostic regions of a picture on plain background (per band, see :func:`foreground_mask`),
    left to right."""
    from scipy import ndimage

    mask = foreground_mask(image, bands)
    # Parts of one object (a wheel, a head) may touch only diagonally or across a 1-px seam.
    joined = ndimage.binary_closing(mask, structure=np.ones((3, 3), dtype=bool), iterations=2) | mask
    labels, _ = ndimage.label(joined, structure=np.ones((3, 3), dtype=int))
    regions = []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is None:
            continue
        ys, xs = found
        area = int((mask[ys, xs] & (labels[ys, xs] == index)).sum())
        if area < min_area:
            continue
        regions.append(Region((xs.start, ys.start, xs.stop, ys.stop), "segment", area))
    return sorted(regions, key=lambda r: (r.bbox[0], r.bbox[1]))


def grid_regions(
    image: Image.Image, *, scales: Iterable[float] = (1.0, 0.5, 0.25), overlap: float = 0.5
) -> list[Region]:
    """Square sliding windows over any image: side = scale × the shorter side, stride = side × (1 − overlap).

    >>> len(grid_regions(Image.new("RGB", (200, 100)), scales=(1.0,)))
    3
    """
    if not 0.0 <= overlap < 1.0:
        raise InvalidInputError(f"overlap must be in [0, 1), found {overlap}")
    width, height = image.size
    regions = []
    for scale in scales:
        if not 0.0 < scale <= 1.0:
            raise InvalidInputError(f"scales must be in (0, 1], found {scale}")
        side = max(8, round(min(width, height) * scale))
        stride = max(1, round(side * (1.0 - overlap)))
        xs = _starts(width, side, stride)
        ys = _starts(height, side, stride)
        regions.extend(Region((x, y, x + side, y + side), "grid", side * side) for y in ys for x in xs)
    return regions


def _starts(length: int, side: int, stride: int) -> list[int]:
    if side >= length:
        return [0]
    starts = list(range(0, length - side + 1, stride))
    if starts[-1] != length - side:
        starts.append(length - side)
    return starts


def box_iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (0 for two empty boxes).

    >>> box_iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    """
    inter = box_intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def box_intersection(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The area two ``(x0, y0, x1, y1)`` boxes share.

    >>> box_intersection((0, 0, 10, 10), (5, 0, 15, 10))
    50
    """
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
