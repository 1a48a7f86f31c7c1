"""What the crossing's renders encode beyond what CLIP reads: the world's proposer and reader.

:func:`propose_regions` segments a render by the background bands of the street
(sidewalks, road, crosswalk); any other picture is left to the grid.
:func:`read_measurements` adds, on a render: the crosswalk as a background
region and who is on it (``mr:onCrosswalk``); for each vehicle approaching the
crosswalk, its distance to it (``mr:distanceToCrosswalk``, metres at the world's
scale) and its speed off its motion streaks (``mr:speed``, metres per second);
and each vehicle's brake lamps read on a square at its rear
(``mr:brakeLights``), where a lamp of a few pixels fills a sixth of the
encoder's input instead of a fortieth of a crop of the whole bus. On other
pictures nothing can be measured, and the brake lamps, unreadable at the scale
of a whole vehicle, are dropped rather than guessed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mmreason.vision.proposals import Region, rear_box, segment_regions, square_crop
from mmreason.worlds.crossing.namespace import MR
from mmreason.worlds.crossing.render import EXPOSURE_S, HEIGHT, LAYOUT, PIXELS_PER_METRE, WIDTH, read_trail

if TYPE_CHECKING:
    from PIL import Image

    from mmreason.vision.encoder import ClipEncoder
    from mmreason.vision.grounding import GroundedObject, SceneGraph
    from mmreason.vision.vocabulary import Vocabulary

__all__ = ["CROSSWALK_BOX", "propose_regions", "read_measurements"]

#: Where the crosswalk of every render is, in pixels.
CROSSWALK_BOX = (LAYOUT.crosswalk_x0, LAYOUT.road_top, LAYOUT.crosswalk_x1, LAYOUT.road_bottom)


def _is_render(image: Image.Image) -> bool:
    return image.size == (WIDTH, HEIGHT)


def propose_regions(image: Image.Image) -> list[Region] | None:
    """Regions of a render, segmented band by band of the street; None for any other picture.

    >>> from mmreason.worlds.crossing import render_scene
    >>> image, truth = render_scene(5)
    >>> len(propose_regions(image)) == len(truth.objects) + 1  # road users + the traffic light
    True
    """
    if not _is_render(image):
        return None
    return segment_regions(image, bands=list(LAYOUT.regions().values()))


def read_measurements(
    scene: SceneGraph, image: Image.Image, *, encoder: ClipEncoder, vocabulary: Vocabulary
) -> SceneGraph:
    """``scene`` with what a render encodes added (see the module); other pictures lose their brake lamps."""
    from mmreason.vision.grounding import GroundedRegion, Relation, best_concepts

    lamps = str(MR.brakeLights)
    if scene.proposer != "world" or not _is_render(image):
        objects = tuple(o.with_attribute(lamps, None) for o in scene.objects)
        return replace(scene, objects=objects)
    vehicles = [
        i for i, o in enumerate(scene.objects) if vocabulary.is_a(o.type.concept.iri, str(MR.Vehicle))
    ]
    read: dict[int, Any] = {}
    if vehicles and lamps in vocabulary.values:
        rears = [
            square_crop(
                image,
                rear_box(scene.objects[i].bbox, facing_right=_facing_right(scene.objects[i].bbox)),
                pad=0.2,
            )
            for i in vehicles
        ]
        found = best_concepts(encoder, encoder.encode_images(rears), vocabulary.of(lamps))
        read = {
            i: replace(a, how="CLIP, on a square at the vehicle's rear")
            for i, a in zip(vehicles, found, strict=True)
        }
    crosswalk = GroundedRegion(
        "crosswalk", str(MR.Crosswalk), vocabulary.label(str(MR.Crosswalk)), CROSSWALK_BOX
    )
    objects: list[GroundedObject] = []
    relations = list(scene.relations)
    for i, obj in enumerate(scene.objects):
        if i in read:
            obj = obj.with_attribute(lamps, read[i])
        if _on_crosswalk(obj.bbox):
            relations.append(Relation(obj.id, str(MR.onCrosswalk), crosswalk.id, 1.0))
        if i in vehicles and _approaching(obj.bbox):
            measures = {str(MR.distanceToCrosswalk): (CROSSWALK_BOX[0] - obj.bbox[2]) / PIXELS_PER_METRE}
            trail = read_trail(image, obj.bbox)
            if trail is not None:
                measures[str(MR.speed)] = trail / (EXPOSURE_S * PIXELS_PER_METRE)
            obj = obj.with_measures(measures)
        objects.append(obj)
    note = (
        f"measured at the world's scale, {PIXELS_PER_METRE:g} px per metre; speed from motion streaks "
        f"of a {EXPOSURE_S:g} s exposure"
    )
    return replace(
        scene,
        objects=tuple(objects),
        regions=(*scene.regions, crosswalk),
        relations=tuple(relations),
        notes=(*scene.notes, note),
    )


def _facing_right(bbox: tuple[int, int, int, int]) -> bool:
    # Traffic in the near lane drives right, towards the crosswalk; far-lane traffic drives left, away.
    return bbox[3] > (LAYOUT.far_lane_y + LAYOUT.near_lane_y) / 2


def _approaching(bbox: tuple[int, int, int, int]) -> bool:
    # Only vehicles driving towards the crosswalk, short of it, have a distance to it.
    return _facing_right(bbox) and bbox[2] <= CROSSWALK_BOX[0]


def _on_crosswalk(bbox: tuple[int, int, int, int]) -> bool:
    # On the crosswalk: at least half the box's width over it, and its feet on the road.
    x0, _, x1, y1 = bbox
    overlap = max(0, min(x1, CROSSWALK_BOX[2]) - max(x0, CROSSWALK_BOX[0]))
    return overlap >= 0.5 * (x1 - x0) and CROSSWALK_BOX[1] <= y1 <= CROSSWALK_BOX[3]
