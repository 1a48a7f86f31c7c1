"""Labels files: CURIEs resolve against a world, every bad row names its file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmreason.errors import InvalidInputError, MissingFileError, WorldError
from mmreason.vision.labels import HEADER, LabelRow, read_labels, write_labels, write_renders
from mmreason.worlds import World, resolve_world

SH = "http://example.org/shapes#"

ONTOLOGY = """\
@prefix sh: <http://example.org/shapes#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

sh:Thing a rdfs:Class ; rdfs:label "thing" .
sh:Disc a rdfs:Class ; rdfs:subClassOf sh:Thing ; rdfs:label "disc" .
sh:Square a rdfs:Class ; rdfs:subClassOf sh:Thing ; rdfs:label "square" .
sh:Ground a rdfs:Class ; rdfs:subClassOf sh:Thing ; rdfs:label "ground" .

sh:Colour a rdfs:Class ; rdfs:label "colour" .
sh:colour a rdf:Property ; rdfs:domain sh:Thing ; rdfs:range sh:Colour ; rdfs:label "colour" .
sh:red a sh:Colour ; rdfs:label "red" .
sh:blue a sh:Colour ; rdfs:label "blue" .

sh:Lighting a rdfs:Class ; rdfs:label "lighting" .
sh:light a rdf:Property ; rdfs:range sh:Lighting ; rdfs:label "light" .
sh:bright a sh:Lighting ; rdfs:label "bright" .
sh:dim a sh:Lighting ; rdfs:label "dim" .
"""

MANIFEST = """\
name = "shapes"
ontology = "shapes.ttl"

[vision]
objects = "sh:Thing"
background = ["sh:Ground"]
object_attributes = ["sh:colour"]
scene_attributes = ["sh:light"]
type_crop = "{type_crop}"

[vision.prompts]
"sh:colour" = "{{a}} {{label}} shape"
"sh:light" = "a {{label}} picture"

[training]
labels = "labels.csv"
steps = 8
seed = 0
"""

WIDTH, HEIGHT = 96, 64
# Apart in grey too (luma 89, 98 on skies of 224 and 46): types are read on grey crops.
_COLOURS = {"red": (210, 40, 40), "blue": (60, 90, 230)}
_SKY = {"bright": (225, 225, 215), "dim": (45, 45, 55)}
_GROUND = (120, 95, 60)
_FURROW = (70, 55, 35)


def make_toy_world(root: Path, *, images: int = 12, seed: int = 0, type_crop: str = "grey") -> Path:
    """A shapes world in ``root``: ``images`` pictures of a disc or a square above the ground, labelled.

    Each picture gives four rows: its lighting (the whole image), the shape's type and colour
    (its box), and a patch of ground (background).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "shapes.ttl").write_text(ONTOLOGY)
    (root / "world.toml").write_text(MANIFEST.format(type_crop=type_crop))
    (root / "images").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(images):
        light = ("bright", "dim")[int(rng.integers(2))]
        shape = ("Disc", "Square")[int(rng.integers(2))]
        colour = ("red", "blue")[int(rng.integers(2))]
        picture = Image.new("RGB", (WIDTH, HEIGHT), _SKY[light])
        draw = ImageDraw.Draw(picture)
        draw.rectangle((0, 48, WIDTH, HEIGHT), fill=_GROUND)
        for y in range(50, HEIGHT, 4):  # furrows: ground is striped, shapes are plain
            draw.line((0, y, WIDTH, y), fill=_FURROW)
        side = int(rng.integers(14, 26))
        x0, y0 = int(rng.integers(2, WIDTH - side - 2)), int(rng.integers(2, 46 - side))
        box = (x0, y0, x0 + side, y0 + side)
        (draw.ellipse if shape == "Disc" else draw.rectangle)(
            (x0, y0, x0 + side - 1, y0 + side - 1), fill=_COLOURS[colour]
        )
        name = f"images/{i:03d}.png"
        picture.save(root / name)
        gx = int(rng.integers(0, WIDTH - 16))
        rows += [
            (name, None, "sh:light", f"sh:{light}"),
            (name, box, "a", f"sh:{shape}"),
            (name, box, "sh:colour", f"sh:{colour}"),
            (name, (gx, 48, gx + 16, HEIGHT), "a", "sh:Ground"),
        ]
    write_labels(root / "labels.csv", rows)
    return root


@pytest.fixture
def world(tmp_path) -> World:
    return World.load(make_toy_world(tmp_path / "shapes", images=3))


def test_rows_resolve_curies_and_iris(world):
    path = world.root / "mixed.csv"
    path.write_text(
        "image,x0,y0,x1,y1,property,value\n"
        "images/000.png,,,,,sh:light,sh:dim\n"
        f"images/001.png,1,2,30.5,40,{SH}colour,<{SH}red>\n"
        "images/001.png,0,0,96,64,a,sh:Ground\n"
    )
    labels = read_labels(path, world)
    assert labels.rows == (
        LabelRow(world.root / "images/000.png", None, f"{SH}light", f"{SH}dim", 2),
        LabelRow(world.root / "images/001.png", (1.0, 2.0, 30.5, 40.0), f"{SH}colour", f"{SH}red", 3),
        LabelRow(world.root / "images/001.png", (0.0, 0.0, 96.0, 64.0), "a", f"{SH}Ground", 4),
    )
    assert [r.kind for r in labels.rows] == [f"{SH}light", f"{SH}colour", "type"]
    assert labels.images == (world.root / "images/000.png", world.root / "images/001.png")
    assert len(labels.sha256) == 64 and labels.path == path


def test_write_then_read_round_trips(world):
    labels = read_labels(world.labels, world)
    assert len(labels) == 12
    again = write_labels(
        world.root / "again.csv", [(r.image, r.box, r.property, r.value) for r in labels.rows]
    )
    assert again.read_text().splitlines()[0] == ",".join(HEADER)
    assert [(r.image, r.box, r.property, r.value) for r in read_labels(again, world).rows] == [
        (r.image, r.box, r.property, r.value) for r in labels.rows
    ]


GOOD = "images/000.png,2,2,20,20,a,sh:Disc"


@pytest.mark.parametrize(
    ("text", "line", "column", "match"),
    [
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,0,0,500,10,a,sh:Disc", 2, "x1", "outside"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,-1,0,5,10,a,sh:Disc", 2, "x0", "outside"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,10,0,5,10,a,sh:Disc", 2, "x1", "x1 > x0"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,1,,,,a,sh:Disc", 2, "y0", "empty"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,a,0,10,10,a,sh:Disc", 2, "x0", "number"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,nan,0,10,10,a,sh:Disc", 2, "x0", "number"),
        (
            "image,x0,y0,x1,y1,property,value\n" + f"{GOOD}\nimages/000.png,,,,,sh:light,sh:green",
            3,
            "value",
            "sh:dim",
        ),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,,,,,a,sh:red", 2, "value", "object types"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,,,,,a,xx:Disc", 2, "value", "sh:Square"),
        ("image,x0,y0,x1,y1,property,value\n" + "images/nope.png,,,,,a,sh:Disc", 2, "image", "no such image"),
        ("image,x0,y0,x1,y1,property,value\n" + "shapes.ttl,,,,,a,sh:Disc", 2, "image", "not an image"),
        (
            "image,x0,y0,x1,y1,property,value\n" + "images/000.png,,,,,sh:size,sh:big",
            2,
            "property",
            "sh:colour",
        ),
        ("image,x0,y0,x1,y1,property,value\n" + "images/000.png,,,,,sh:Disc", 2, "value", "7 columns"),
        ("img,x0,y0,x1,y1,property,value\n" + GOOD, 1, "image", "header"),
        ("image,x0,y0,x1,y1,property\n" + GOOD, 1, "value", "header"),
        ("", 1, "image", "header"),
    ],
)
def test_bad_rows_name_file_line_and_column(world, text, line, column, match):
    path = world.root / "bad.csv"
    path.write_text(text + "\n")
    with pytest.raises(WorldError, match=rf"bad\.csv:{line}: column '{column}': .*{match}") as caught:
        read_labels(path, world)
    assert (caught.value.path, caught.value.line, caught.value.key) == (str(path), line, column)


def test_a_missing_labels_file(world):
    with pytest.raises(MissingFileError, match=r"nothing\.csv"):
        read_labels(world.root / "nothing.csv", world)


def test_write_labels_refuses_a_bad_box(tmp_path):
    with pytest.raises(InvalidInputError, match=r"rows\[0\]: box"):
        write_labels(tmp_path / "x.csv", [("a.png", (1, 2, 3), "a", "sh:Disc")])


@pytest.mark.parametrize(("count", "seed"), [(0, 0), (2, -1)])
def test_write_renders_refuses_bad_counts(tmp_path, count, seed):
    with pytest.raises(InvalidInputError, match="count" if count < 1 else "seed"):
        write_renders("crossing", tmp_path, count=count, seed=seed)


def test_write_renders_of_the_crossing_are_valid_labels(tmp_path):
    world = resolve_world("crossing")
    paths = write_renders(world, tmp_path, seed=6, count=2, labels=True)
    assert [p.name for p in paths] == ["scene-6.png", "scene-7.png"]
    assert paths[0].with_suffix(".json").is_file()
    labels = read_labels(tmp_path / "labels.csv", world)
    assert labels.images == tuple(paths)
    # Seed 6's road patch starts left of the picture (x0 = -14): it is written clipped to the image.
    road = [r.box for r in labels.rows if r.image == paths[0] and r.value == world.expand("mr:Road")]
    assert road == [(0.0, 168.0, 28.0, 210.0)]
    assert {world.curie(r.property) for r in labels.rows} >= {"a", "mr:weather", "mr:surface", "mr:colour"}
