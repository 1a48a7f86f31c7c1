"""The tabletop renderer: determinism, CLEVR's placement and relations, geometry, shading."""

from __future__ import annotations

import colorsys
import importlib
import json
import math

import numpy as np
import pytest

from mmreason.errors import InvalidInputError
from mmreason.worlds.tabletop.render import (
    COLOURS,
    HEIGHT,
    MIN_VISIBLE_PIXELS,
    SIZES,
    TT_IRI,
    WIDTH,
    _hit_box,
    _hit_cylinder,
    _hit_sphere,
    project,
    render_masks,
    render_scene,
)

# The module itself, whatever the package's __init__ re-exports under the same name.
render = importlib.import_module("mmreason.worlds.tabletop.render")
SEEDS = range(8)


@pytest.fixture(scope="module")
def scenes():
    """seed -> (pixels [H, W, 3] uint8, truth, masks [H, W]) for SEEDS."""
    out = {}
    for seed in SEEDS:
        image, truth = render_scene(seed)
        out[seed] = (np.asarray(image), truth, render_masks(seed))
    return out


def _pairs(truth):
    return [(a, b) for i, a in enumerate(truth.objects) for b in truth.objects[i + 1 :]]


def test_same_seed_same_image_and_truth(scenes):
    image, truth = render_scene(3)
    assert np.array_equal(np.asarray(image), scenes[3][0])
    assert truth == scenes[3][1]
    assert not np.array_equal(scenes[4][0], scenes[3][0])


def test_image_size_and_object_count(scenes):
    for pixels, truth, _ in scenes.values():
        assert pixels.shape == (HEIGHT, WIDTH, 3)
        assert 3 <= len(truth.objects) <= 10
    assert len({len(truth.objects) for _, truth, _ in scenes.values()}) > 1


@pytest.mark.parametrize("count", [3, 10])
def test_num_objects_is_obeyed(count):
    _, truth = render_scene(21, num_objects=count)
    assert len(truth.objects) == count
    assert render_masks(21, num_objects=count).max() == count - 1


def test_objects_rest_on_the_floor_inside_the_square(scenes):
    for _, truth, _ in scenes.values():
        for obj in truth.objects:
            x, y, z = obj.coords
            assert -3 <= x <= 3 and -3 <= y <= 3
            radius = SIZES[obj.size]
            assert z == pytest.approx(radius / math.sqrt(2) if obj.shape == "cube" else radius)
            assert 0 <= obj.rotation < 360


def test_directions_are_clevrs_ground_vectors(scenes):
    for _, truth, _ in scenes.values():
        d = {name: np.array(v) for name, v in truth.directions.items()}
        assert list(d) == ["behind", "front", "above", "below", "left", "right"]
        for name in ("behind", "front", "left", "right"):
            assert np.linalg.norm(d[name]) == pytest.approx(1.0)
            assert d[name][2] == 0
        np.testing.assert_allclose(d["left"], -d["right"])
        np.testing.assert_allclose(d["front"], -d["behind"])
        assert d["front"] @ d["left"] == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_array_equal(d["above"], [0, 0, 1])
        np.testing.assert_array_equal(d["below"], [0, 0, -1])
        # behind points away from the camera, right to the camera's right (a picture's +x).
        camera = np.array(truth.camera["location"])
        assert d["behind"][:2] @ camera[:2] < 0
        assert project(truth.camera, d["right"])[0] > WIDTH / 2


def test_relationships_match_a_hand_recomputation(scenes):
    for _, truth, _ in scenes.values():
        coords = [np.array(obj.coords) for obj in truth.objects]
        assert list(truth.relationships) == ["behind", "front", "left", "right"]
        for name, rows in truth.relationships.items():
            direction = np.array(truth.directions[name])
            for i, row in enumerate(rows):
                expected = [
                    j for j in range(len(coords)) if j != i and (coords[j] - coords[i]) @ direction > 0.2
                ]
                assert row == expected


def test_left_of_in_the_picture_is_left_in_the_scene(scenes):
    # Relations far above CLEVR's eps also hold on screen: j left of i is drawn further left.
    for _, truth, _ in scenes.values():
        for i, row in enumerate(truth.relationships["left"]):
            for j in row:
                a, b = truth.objects[i].coords, truth.objects[j].coords
                gap = (np.array(b) - np.array(a)) @ np.array(truth.directions["left"])
                if gap > 1.5:
                    assert project(truth.camera, b)[0] < project(truth.camera, a)[0]


def test_placement_keeps_clevrs_distance_and_margins(scenes):
    for _, truth, _ in scenes.values():
        left = np.array(truth.directions["left"])
        front = np.array(truth.directions["front"])
        for a, b in _pairs(truth):
            delta = np.array(b.coords) - np.array(a.coords)
            assert abs(delta @ left) >= 0.4
            assert abs(delta @ front) >= 0.4
            assert math.hypot(delta[0], delta[1]) - SIZES[a.size] - SIZES[b.size] >= 0.25


def test_masks_agree_with_the_truth(scenes):
    for _, truth, masks in scenes.values():
        assert masks.shape == (HEIGHT, WIDTH)
        assert masks.min() == -1
        for k, obj in enumerate(truth.objects):
            ys, xs = np.nonzero(masks == k)
            assert len(xs) == obj.visible_pixels >= MIN_VISIBLE_PIXELS
            assert obj.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert obj.visible_pixels <= obj.full_pixels


def test_a_scene_with_a_hidden_object_is_drawn_again(monkeypatch):
    # CLEVR's 200 pixels at 480x320, scaled to the area of our image.
    assert round(200 * WIDTH * HEIGHT / (480 * 320)) == MIN_VISIBLE_PIXELS
    place, draws = render._place, []

    def recording(*args):
        draws.append(place(*args))
        return draws[-1]

    monkeypatch.setattr(render, "_place", recording)
    layout = render._layout(7, None)  # seed 7's first draw hides an object
    first = render._cast(layout.camera, draws[0], 1)[2]
    assert len(draws) >= 2 and draws[-1] == list(layout.solids)
    assert np.bincount(first[first >= 0], minlength=len(draws[0])).min() < MIN_VISIBLE_PIXELS
    assert np.bincount(layout.ids[layout.ids >= 0]).min() >= MIN_VISIBLE_PIXELS
    assert np.array_equal(layout.ids, render_masks(7))


def test_projection_of_the_origin_is_the_image_centre(scenes):
    for _, truth, _ in scenes.values():
        x, y, depth = project(truth.camera, (0.0, 0.0, 0.0))
        assert (x, y) == pytest.approx((WIDTH / 2, HEIGHT / 2), abs=1e-9)
        assert depth == pytest.approx(np.linalg.norm(truth.camera["location"]))
        # A point up the world's z axis is drawn straight above the centre.
        x, y, _ = project(truth.camera, (0.0, 0.0, 1.0))
        assert x == pytest.approx(WIDTH / 2, abs=1e-9) and y < HEIGHT / 2


def test_pixel_coords_are_the_projected_centre(scenes):
    for _, truth, masks in scenes.values():
        for k, obj in enumerate(truth.objects):
            x, y, depth = project(truth.camera, obj.coords)
            assert obj.pixel_coords == (math.floor(x), math.floor(y), pytest.approx(depth))
            if obj.shape == "sphere" and obj.visible_pixels == obj.full_pixels:
                # A sphere's centre projects inside its silhouette.
                x0, y0, x1, y1 = obj.bbox
                px, py, _ = obj.pixel_coords
                assert x0 <= px < x1 and y0 <= py < y1
                assert masks[py, px] == k


@pytest.mark.parametrize(
    "ray, expected",
    [
        # Straight down onto a unit sphere at the origin from z = 5: enters at z = 1.
        (((0, 0, 5), (0, 0, -1)), 4.0),
        # From the side, grazing past it.
        (((-5, 1.01, 0), (1, 0, 0)), math.inf),
    ],
)
def test_sphere_intersection_known_answers(ray, expected):
    origin, direction = (np.array([v], dtype=float) for v in ray)
    assert _hit_sphere(origin, direction, 1.0)[0] == pytest.approx(expected)


def test_box_intersection_known_answers():
    # A box of half-side 1 turned 45°: along x it is entered at its corner, √2 from the centre.
    origins = np.array([[-10.0, 0.0, 0.0], [-10.0, 1.3, 0.0], [0.0, 0.0, 10.0]])
    dirs = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    t = _hit_box(origins, dirs, 1.0, math.radians(45))
    assert t[0] == pytest.approx(10 - math.sqrt(2))
    assert t[1] == pytest.approx(10 - (math.sqrt(2) - 1.3))
    assert t[2] == pytest.approx(9.0)
    assert np.isinf(_hit_box(origins, dirs, 1.0, 0.0)[1])


def test_cylinder_intersection_known_answers():
    # Radius 1, half-height 1: the top cap from above, the side from the left, a miss above the cap.
    origins = np.array([[0.3, 0.0, 10.0], [-10.0, 0.0, 0.5], [-10.0, 0.0, 1.5]])
    dirs = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    t = _hit_cylinder(origins, dirs, 1.0, 1.0)
    assert t[:2] == pytest.approx([9.0, 9.0])
    assert np.isinf(t[2])


def _max_brightness(pixels, mask):
    return pixels[mask].astype(float).mean(axis=1).max()


@pytest.mark.parametrize("seed", [15, 52])
def test_metal_shines_where_rubber_of_its_colour_does_not(seed):
    # These seeds hold a metal sphere and a rubber object of the same colour, both fully visible.
    image, truth = render_scene(seed)
    pixels, masks = np.asarray(image), render_masks(seed)
    whole = [k for k, o in enumerate(truth.objects) if o.visible_pixels == o.full_pixels]
    metal = [k for k in whole if truth.objects[k].material == "metal" and truth.objects[k].shape == "sphere"]
    pairs = [
        (m, r)
        for m in metal
        for r in whole
        if truth.objects[r].material == "rubber" and truth.objects[r].color == truth.objects[m].color
    ]
    assert pairs
    for m, r in pairs:
        assert _max_brightness(pixels, masks == m) > _max_brightness(pixels, masks == r) + 20


def _hue(rgb):
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, dtype=float) / 255))


def test_large_rubber_objects_show_their_own_colour(scenes):
    checked = 0
    for pixels, truth, masks in scenes.values():
        for k, obj in enumerate(truth.objects):
            if obj.material != "rubber" or obj.size != "large" or obj.visible_pixels < obj.full_pixels:
                continue
            inside = masks == k
            # Away from the silhouette, where anti-aliasing mixes in the floor.
            core = (
                inside[1:-1, 1:-1]
                & inside[:-2, 1:-1]
                & inside[2:, 1:-1]
                & inside[1:-1, :-2]
                & inside[1:-1, 2:]
            )
            hue, saturation, _ = _hue(pixels[1:-1, 1:-1][core].mean(axis=0))
            if obj.color == "gray":
                assert saturation < 0.1
            else:
                chromatic = {name: _hue(rgb)[0] for name, rgb in COLOURS.items() if name != "gray"}
                nearest = min(
                    chromatic,
                    key=lambda name: min(abs(chromatic[name] - hue), 1 - abs(chromatic[name] - hue)),
                )
                assert nearest == obj.color
            checked += 1
    assert checked >= 3


def test_scene_record_is_clevrs_schema(scenes):
    truth = scenes[2][1]
    record = truth.scene_record(5, "CLEVR_new_000005.png", split="val")
    assert record["split"] == "val" and record["image_index"] == 5
    assert record["image_filename"] == "CLEVR_new_000005.png"
    obj = record["objects"][0]
    for key in ("shape", "color", "material", "size", "3d_coords", "pixel_coords", "rotation"):
        assert key in obj
    assert record["relationships"] == truth.relationships
    data = json.loads(truth.to_json())
    assert data["image_filename"] == f"{truth.scene_id}.png" == "tabletop-000002.png"
    assert data["seed"] == 2 and data["camera"]["width"] == WIDTH
    assert data["objects"] == json.loads(json.dumps(record["objects"]))


def test_labels_cover_the_mostly_visible_objects(scenes):
    for _, truth, _ in scenes.values():
        rows = truth.labels()
        shown = [o for o in truth.objects if 2 * o.visible_pixels >= o.full_pixels]
        assert len(rows) == 4 * len(shown)
        for obj, group in zip(shown, (rows[i : i + 4] for i in range(0, len(rows), 4)), strict=True):
            assert [r[0] for r in group] == [obj.bbox] * 4
            assert [r[1:] for r in group] == [
                ("a", TT_IRI + obj.shape.capitalize()),
                (TT_IRI + "colour", TT_IRI + obj.color),
                (TT_IRI + "material", TT_IRI + obj.material),
                (TT_IRI + "size", TT_IRI + obj.size),
            ]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: render_scene(-1), "seed"),
        (lambda: render_scene(1.5), "seed"),
        (lambda: render_scene(True), "seed"),
        (lambda: render_scene("3"), "seed"),
        (lambda: render_scene(0, num_objects=2), "num_objects"),
        (lambda: render_scene(0, num_objects=11), "num_objects"),
        (lambda: render_scene(0, num_objects=4.0), "num_objects"),
        (lambda: render_masks(-3), "seed"),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()
