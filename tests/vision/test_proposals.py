"""Region proposals: segmentation finds every object of a render; the grid covers any image."""

from __future__ import annotations

import pytest
from PIL import Image

from mmreason.errors import InvalidInputError
from mmreason.vision.proposals import grid_regions, segment_regions, square_crop
from mmreason.worlds.crossing import propose_regions, render_scene


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


@pytest.mark.parametrize("seed", [0, 1, 2, 17, 99, 1234, 50_000])
def test_segmentation_finds_each_object_box(seed):
    image, truth = render_scene(seed)
    regions = propose_regions(image)
    expected = [o.bbox for o in truth.objects] + [truth.traffic_light_bbox]
    assert len(regions) == len(expected)
    for box in expected:
        assert max(_iou(box, r.bbox) for r in regions) >= 0.85, box


def test_rain_streaks_are_not_objects():
    image, truth = render_scene(3, Weather="rain")
    assert len(propose_regions(image)) == len(truth.objects) + 1


def test_a_plain_background_is_segmented_whole():
    from PIL import ImageDraw

    picture = Image.new("RGB", (160, 100), (230, 225, 210))
    draw = ImageDraw.Draw(picture)
    boxes = [(10, 10, 40, 40), (60, 50, 90, 95), (120, 5, 150, 30)]
    for box in boxes:
        draw.rectangle(box, fill=(40, 90, 160))
    found = [r.bbox for r in segment_regions(picture)]
    # Boxes have exclusive ends; PIL's rectangle includes its last pixel.
    assert found == [(x0, y0, x1 + 1, y1 + 1) for x0, y0, x1, y1 in boxes]


def test_the_crossing_proposer_declines_other_pictures():
    assert propose_regions(Image.new("RGB", (64, 64))) is None


def test_grid_known_counts():
    # 200×100, side 100, stride 50: x in {0, 50, 100}; side 50, stride 25: 7 × 3 windows.
    image = Image.new("RGB", (200, 100))
    assert [r.bbox for r in grid_regions(image, scales=(1.0,))] == [
        (0, 0, 100, 100),
        (50, 0, 150, 100),
        (100, 0, 200, 100),
    ]
    assert len(grid_regions(image, scales=(0.5,))) == 21
    assert all(r.bbox[2] <= 200 and r.bbox[3] <= 100 for r in grid_regions(image))


def test_square_crop_keeps_aspect():
    image = Image.new("RGB", (100, 50), (255, 0, 0))
    crop = square_crop(image, (40, 20, 60, 30), pad=0.5)
    assert crop.size == (30, 30)
    assert crop.getpixel((15, 15)) == (255, 0, 0)
    corner = square_crop(image, (0, 0, 10, 10), pad=1.0)
    assert corner.getpixel((0, 0)) == (0, 0, 0)  # outside the image is black


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: grid_regions(Image.new("RGB", (64, 64)), overlap=1.0), "overlap"),
        (lambda: grid_regions(Image.new("RGB", (64, 64)), scales=(0.0,)), "scales"),
        (lambda: square_crop(Image.new("RGB", (64, 64)), (5, 5, 5, 9)), "bbox"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()
