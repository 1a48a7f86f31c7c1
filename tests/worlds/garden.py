"""A third world built from nothing: a garden, with its own namespace, SCM, bindings and drawings.

Everything here is what a user writes for a world of their own: a Turtle ontology (``g:``), an SCM
file, a bindings file, a manifest, and labelled pictures (drawn by :func:`draw`), from which
``train_clip`` trains the world's CLIP model.

The SCM, by hand: Season (summer, winter: 1/2 each) -> Rain (P(rain) 0.2 in summer, 0.6 in
winter) and Sprinkler (0.7 in summer, 0.1 in winter); WetGrass = Rain or Sprinkler;
Slippery = WetGrass and winter (the wet path freezes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

G = "http://example.org/garden#"

ONTOLOGY = """\
@prefix g:    <http://example.org/garden#> .
@prefix mm:   <http://mmreason.org/ns#> .
@prefix rdf:  <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .

g:Thing a rdfs:Class ; rdfs:label "thing" .
g:Plant a rdfs:Class ; rdfs:subClassOf g:Thing ; rdfs:label "plant" .
g:Vegetable a rdfs:Class ; rdfs:subClassOf g:Plant ; rdfs:label "vegetable" .
g:Tomato a rdfs:Class ; rdfs:subClassOf g:Vegetable ; rdfs:label "tomato" .
g:Flower a rdfs:Class ; rdfs:subClassOf g:Plant ; rdfs:label "flower" .
g:Sunflower a rdfs:Class ; rdfs:subClassOf g:Flower ; rdfs:label "sunflower" .
g:Tool a rdfs:Class ; rdfs:subClassOf g:Thing ; rdfs:label "tool" .
g:WateringCan a rdfs:Class ; rdfs:subClassOf g:Tool ; rdfs:label "watering can" .
g:Lawn a rdfs:Class ; rdfs:subClassOf g:Thing ; rdfs:label "lawn" .

g:Colour a rdfs:Class ; rdfs:label "colour" .
g:red a g:Colour ; rdfs:label "red" .
g:green a g:Colour ; rdfs:label "green" .
g:yellow a g:Colour ; rdfs:label "yellow" .
g:colour a rdf:Property ; rdfs:label "colour" ; rdfs:domain g:Plant ; rdfs:range g:Colour .

g:Season a rdfs:Class ; rdfs:label "season" .
g:summer a g:Season ; rdfs:label "summer" .
g:winter a g:Season ; rdfs:label "winter" .
g:season a rdf:Property ; rdfs:label "season" ; rdfs:domain mm:Scene ; rdfs:range g:Season .

g:Resource a rdfs:Class ; rdfs:label "resource" .
g:water a g:Resource ; rdfs:label "water" .
g:sunlight a g:Resource ; rdfs:label "sunlight" .
g:shelter a g:Resource ; rdfs:label "shelter" .
g:needs a rdf:Property ; rdfs:label "needs" ; skos:altLabel "need" ; rdfs:range g:Resource .

# Facts about classes, inherited by their subclasses.
g:Plant g:needs g:water .
g:Sunflower g:needs g:sunlight .
# A rule whose condition only a picture shows.
g:frostRule a mm:Rule ; rdfs:label "tomatoes need shelter in winter" ;
    mm:appliesTo g:Tomato ; mm:when g:winter ; g:needs g:shelter .
"""

SCM = """\
name = "garden"
description = "Season, rain, sprinkler, wet grass, a slippery path."

[variables.Season]
domain = ["summer", "winter"]
cpd = [0.5, 0.5]

[variables.Rain]
description = "it rained"
domain = [0, 1]
parents = ["Season"]
[variables.Rain.cpd]
"Season=summer" = [0.8, 0.2]
"Season=winter" = [0.4, 0.6]

[variables.Sprinkler]
description = "the sprinkler was on"
domain = [0, 1]
parents = ["Season"]
[variables.Sprinkler.cpd]
"Season=summer" = [0.3, 0.7]
"Season=winter" = [0.9, 0.1]

[variables.WetGrass]
description = "the grass is wet"
domain = [0, 1]
equation = "Rain == 1 or Sprinkler == 1"

[variables.Slippery]
description = "the path is slippery"
domain = [0, 1]
equation = "WetGrass == 1 and Season == \\"winter\\""
"""

BINDINGS = """\
[variables.Season]
kg = { scene = "g:season" }
values = { summer = "g:summer", winter = "g:winter" }
"""

MANIFEST = """\
name = "garden"
description = "A garden in summer or winter: tomatoes, sunflowers, a watering can."
ontology = ["garden.ttl"]
scm = "garden.scm.toml"
bindings = "garden.bindings.toml"
encoder = "clip"

[vision]
objects = "g:Thing"
background = ["g:Lawn"]
object_attributes = ["g:colour"]
scene_attributes = ["g:season"]
type_crop = "grey"
proposer = "segment"

[vision.prompts]
"g:colour" = "{a} {label} {domain}"
"g:season" = "a garden in {label}"

[training]
labels = "pictures/labels.csv"
steps = 300
"""

WIDTH, HEIGHT = 128, 96
HORIZON = 34
SKY = {"summer": (120, 190, 250), "winter": (150, 155, 165)}
GROUND = {"summer": (150, 130, 80), "winter": (246, 246, 250)}
PAINT = {"red": (215, 30, 30), "green": (30, 200, 60), "yellow": (250, 210, 20)}
KINDS = ("Tomato", "Sunflower", "WateringCan")


def draw(season: str, things: list[tuple[str, str | None, tuple[int, int]]]) -> tuple[Image.Image, list]:
    """A garden picture and its labels: ``things`` are (kind, colour or None, centre)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), GROUND[season])
    pen = ImageDraw.Draw(image)
    pen.rectangle([0, 0, WIDTH - 1, HORIZON], fill=SKY[season])
    rows = [(None, "g:season", f"g:{season}")]
    for kind, colour, (x, y) in things:
        if kind == "Tomato":
            box = (x - 9, y - 9, x + 10, y + 10)
            pen.ellipse([x - 9, y - 9, x + 9, y + 9], fill=PAINT[colour or "red"])
            pen.rectangle([x - 1, y - 9, x + 1, y - 6], fill=(20, 90, 20))
        elif kind == "Sunflower":
            box = (x - 11, y - 11, x + 12, y + 12)
            for angle in range(0, 360, 45):
                dx, dy = round(7 * np.cos(np.radians(angle))), round(7 * np.sin(np.radians(angle)))
                pen.ellipse([x + dx - 4, y + dy - 4, x + dx + 4, y + dy + 4], fill=PAINT["yellow"])
            pen.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(100, 60, 20))
        else:
            box = (x - 10, y - 8, x + 13, y + 9)
            pen.rectangle([x - 10, y - 6, x + 4, y + 8], fill=(40, 70, 200))
            pen.line([(x + 4, y - 1), (x + 12, y - 8)], fill=(40, 70, 200), width=3)
            pen.arc([x - 8, y - 8, x + 2, y - 2], 180, 360, fill=(40, 70, 200), width=2)
        rows.append((box, "a", f"g:{kind}"))
        if colour is not None:
            rows.append((box, "g:colour", f"g:{colour}"))
    return image, rows


def random_scene(rng: np.random.Generator) -> tuple[str, list]:
    season = ("summer", "winter")[int(rng.integers(2))]
    things, centres = [], []
    for _ in range(int(rng.integers(1, 4))):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        for _ in range(30):
            centre = (int(rng.integers(16, WIDTH - 16)), int(rng.integers(HORIZON + 16, HEIGHT - 14)))
            if all(abs(centre[0] - c[0]) > 28 or abs(centre[1] - c[1]) > 28 for c in centres):
                break
        else:
            continue
        centres.append(centre)
        colour = (
            ("red", "green")[int(rng.integers(2))]
            if kind == "Tomato"
            else "yellow"
            if kind == "Sunflower"
            else None
        )
        things.append((kind, colour, centre))
    return season, things


def build(folder: Path, *, pictures: int = 240, seed: int = 0) -> Path:
    """Write the garden world into ``folder``: its files and ``pictures`` labelled drawings."""
    from mmreason.vision.labels import write_labels

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garden.ttl").write_text(ONTOLOGY)
    (folder / "garden.scm.toml").write_text(SCM)
    (folder / "garden.bindings.toml").write_text(BINDINGS)
    (folder / "world.toml").write_text(MANIFEST)
    drawings = folder / "pictures"
    drawings.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(pictures):
        image, labels = draw(*random_scene(rng))
        name = f"garden-{i:04d}.png"
        image.save(drawings / name)
        rows += [(name, box, prop, value) for box, prop, value in labels]
    write_labels(drawings / "labels.csv", rows)
    return folder


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.worlds.garden FOLDER")
    print(f"wrote the garden world to {build(Path(sys.argv[1]))}")
