"""The tabletop: what is specific to the bundled CLEVR-style world.

Its ontology, manifest and CLIP model are data in ``graphs/tabletop/``; the
code its manifest names lives here: the renderer (:func:`render_scene`, a ray
caster of our own whose truth is a record of CLEVR's ``scenes.json``), the
region proposer (:func:`propose_regions`, the boxes of a small detector
trained on renders, :mod:`mmreason.worlds.tabletop.detector`) and the reader
of where things stand and how big they are (:func:`read_geometry`).
"""

from __future__ import annotations

from mmreason.worlds.tabletop.readers import propose_regions, read_geometry
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
    "propose_regions",
    "read_geometry",
    "render_masks",
    "render_scene",
]
