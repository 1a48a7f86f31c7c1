"""The crossing: what is specific to the bundled street-crossing world.

Its ontology, SCM, bindings, manifest and CLIP model are data in
``graphs/crossing/``; the code its manifest names lives here: the renderer
(:func:`render_scene`, whose truth gives training labels and benchmark
answers), the region proposer for its renders (:func:`propose_regions`) and the
reader of what they encode (:func:`read_measurements`: metres to the crosswalk
and speed at the world's scale, who is on the crosswalk, brake lamps on a
square at each vehicle's rear).
"""

from __future__ import annotations

from mmreason.worlds.crossing.namespace import MR, MR_IRI
from mmreason.worlds.crossing.readers import propose_regions, read_measurements
from mmreason.worlds.crossing.render import (
    COLOURS,
    EXPOSURE_S,
    HEIGHT,
    LAYOUT,
    LIGHTS,
    PIXELS_PER_METRE,
    ROADS,
    TRAIL_COLOUR,
    VEHICLE_TYPES,
    WEATHERS,
    WIDTH,
    SceneObject,
    SceneTruth,
    contact_sheet,
    crossing_scm,
    read_trail,
    render_scene,
    render_values,
)

__all__ = [
    "COLOURS",
    "EXPOSURE_S",
    "HEIGHT",
    "LAYOUT",
    "LIGHTS",
    "MR",
    "MR_IRI",
    "PIXELS_PER_METRE",
    "ROADS",
    "TRAIL_COLOUR",
    "VEHICLE_TYPES",
    "WEATHERS",
    "WIDTH",
    "SceneObject",
    "SceneTruth",
    "contact_sheet",
    "crossing_scm",
    "propose_regions",
    "read_measurements",
    "read_trail",
    "render_scene",
    "render_values",
]
