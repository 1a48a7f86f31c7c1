"""The tabletop: what is specific to the bundled CLEVR-style world.

Its ontology, manifest and CLIP model are data in ``graphs/tabletop/``; the
code its manifest names lives here: the renderer (:func:`render_scene`, a ray
caster of our own whose truth is a record of CLEVR's ``scenes.json``).
"""

from __future__ import annotations

from mmreason.worlds.tabletop.render import (
    COLOURS,
    HEIGHT,
    MATERIALS,
    MIN_VISIBLE_PIXELS,
    SHAPES,
    SIZES,
    TT_IRI,
    WIDTH,
    TableObject,
    TabletopTruth,
    render_masks,
    render_scene,
)

__all__ = [
    "COLOURS",
    "HEIGHT",
    "MATERIALS",
    "MIN_VISIBLE_PIXELS",
    "SHAPES",
    "SIZES",
    "TT_IRI",
    "WIDTH",
    "TableObject",
    "TabletopTruth",
    "render_masks",
    "render_scene",
]
