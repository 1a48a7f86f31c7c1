"""Grounding: an image in, a scene graph of KG concepts out, every fact with its confidence.

The pipeline (as in region-based open-vocabulary detectors, e.g. Gu et al.
"ViLD", ICLR 2022, with class-agnostic proposals scored by CLIP):

1. Regions are proposed class-agnostically (:mod:`mmreason.vision.proposals`):
   background segmentation for crossing-world renders, sliding windows for any
   other image.
2. Each region's square crop is scored by CLIP against the prompts of the KG's
   object classes (on the grey crop: the class is read from the shape, so an
   unseen colour × class pair is not mistaken for a seen one), and, for
   vehicles, of its colours, and a square at a vehicle's rear against the
   brake-light states; traffic lights against the light states. Regions that
   CLIP calls background (road, crosswalk) drop out.
3. Scene-level attributes (weather, road surface) are scored on the whole image.
4. Spatial relations follow from the boxes: ``leftOf``, ``onCrosswalk``, and the
   distance to the crosswalk in metres by the world's scale; an approaching
   vehicle's speed is read from the length of its motion streaks
   (:func:`~mmreason.vision.world.read_trail`) by the same scale.

Labels come from the KG (:class:`~mmreason.vision.vocabulary.Vocabulary`), so a KG
with other classes or colours is grounded with no code change.

>>> from mmreason.vision.world import render_scene
>>> image, truth = render_scene(42)
>>> scene = ground(image)
>>> (scene.weather.value, scene.road.value) == (truth.weather, truth.road)
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmreason.errors import InvalidInputError, UnknownNameError
from mmreason.kg.vocab import MR_IRI
from mmreason.vision.images import ImageLike, load_image
from mmreason.vision.proposals import (
    Region,
    greyscale,
    grid_regions,
    rear_box,
    segment_regions,
    square_crop,
)
from mmreason.vision.vocabulary import Concept, Vocabulary

if TYPE_CHECKING:
    import rdflib
    from PIL import Image

    from mmreason.vision.encoder import ClipEncoder

__all__ = ["OBJECT_ATTRIBUTES", "OBJECT_MEASURES", "Attribute", "GroundedObject", "SceneGraph", "ground"]

PROPOSERS = ("auto", "segment", "grid")

#: What a :class:`GroundedObject` states, by the IRI of the ``mr:`` property that states it:
#: quantities measured off the image (its field, the unit) ...
OBJECT_MEASURES: Mapping[str, tuple[str, str]] = {
    MR_IRI + "distanceToCrosswalk": ("distance_to_crosswalk", "m"),
    MR_IRI + "speed": ("speed", "m/s"),
}
#: ... and attributes CLIP reads on it (its field, an :class:`Attribute`).
OBJECT_ATTRIBUTES: Mapping[str, str] = {MR_IRI + "colour": "colour", MR_IRI + "brakeLights": "brake_lights"}


@dataclass(frozen=True, slots=True)
class Attribute:
    """One grounded value: the KG concept, its value in the world's terms, and CLIP's probability for it."""

    concept: Concept
    value: str
    confidence: float
    # CLIP's probability of every concept of the kind, by IRI (None when only the best is known).
    distribution: Mapping[str, float] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "iri": self.concept.iri, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class GroundedObject:
    """A road user found in the image."""

    id: str
    type: Attribute
    colour: Attribute | None
    bbox: tuple[int, int, int, int]
    on_crosswalk: bool | None  # None where the image has no known crosswalk
    # Metres to the crosswalk, for vehicles approaching it in a world render; None otherwise.
    distance_to_crosswalk: float | None
    source: str
    brake_lights: Attribute | None = None  # vehicles, when the KG has brake-light states
    # Metres per second, read from the motion streaks of an approaching vehicle in a world render.
    speed: float | None = None

    @property
    def braking(self) -> bool | None:
        """Whether the brake lights are lit, as the world's truth JSON says it (None: not read)."""
        return None if self.brake_lights is None else self.brake_lights.value == "on"

    def to_dict(self) -> dict[str, Any]:
        confidence = {"type": round(self.type.confidence, 4)}
        if self.colour is not None:
            confidence["color"] = round(self.colour.confidence, 4)
        if self.brake_lights is not None:
            confidence["braking"] = round(self.brake_lights.confidence, 4)
        return {
            "id": self.id,
            "type": self.type.value,
            "color": None if self.colour is None else self.colour.value,
            "bbox": list(self.bbox),
            "on_crosswalk": self.on_crosswalk,
            "distance_to_crosswalk": self.distance_to_crosswalk,
            "speed": None if self.speed is None else round(self.speed, 3),
            "braking": self.braking,
            "confidence": confidence,
        }


@dataclass(frozen=True, slots=True)
class SceneGraph:
    """What one image shows, as KG concepts with confidences.

    ``to_dict()`` has the keys of the world's truth JSON (``weather``, ``road``,
    ``light``, ``objects`` …) plus confidences; ``to_rdf()`` gives the facts as
    triples in a named graph for this image, each fact reified with ``mr:confidence``.
    """

    image_id: str
    size: tuple[int, int]
    weather: Attribute
    road: Attribute
    light: Attribute | None
    traffic_light_bbox: tuple[int, int, int, int] | None
    objects: tuple[GroundedObject, ...]
    crosswalk_bbox: tuple[int, int, int, int] | None
    pixels_per_metre: float | None
    proposer: str
    model: str

    @property
    def distance_to_crosswalk(self) -> float | None:
        """Metres from the nearest approaching vehicle to the crosswalk (the SCM's DistanceToCrosswalk)."""
        nearest = self.nearest_vehicle
        return None if nearest is None else nearest.distance_to_crosswalk

    @property
    def nearest_vehicle(self) -> GroundedObject | None:
        """The vehicle in the approaching lane closest to the crosswalk (None if there is none)."""
        approaching = [o for o in self.objects if o.distance_to_crosswalk is not None]
        return min(approaching, key=lambda o: o.distance_to_crosswalk, default=None)

    @property
    def pedestrian_on_crosswalk(self) -> Attribute | None:
        """The most confident road user on the crosswalk that is not a vehicle, if any."""
        walkers = [o for o in self.objects if o.on_crosswalk and o.colour is None]
        return max((o.type for o in walkers), key=lambda a: a.confidence, default=None)

    def to_dict(self) -> dict[str, Any]:
        confidence = {"weather": round(self.weather.confidence, 4), "road": round(self.road.confidence, 4)}
        if self.light is not None:
            confidence["light"] = round(self.light.confidence, 4)
        return {
            "scene": self.image_id,
            "weather": self.weather.value,
            "road": self.road.value,
            "light": None if self.light is None else self.light.value,
            "objects": [o.to_dict() for o in self.objects],
            "traffic_light": None
            if self.light is None
            else {"state": self.light.value, "bbox": list(self.traffic_light_bbox or ())},
            "crosswalk": None if self.crosswalk_bbox is None else {"bbox": list(self.crosswalk_bbox)},
            "distance_to_crosswalk": self.distance_to_crosswalk,
            "pixels_per_metre": self.pixels_per_metre,
            "confidence": confidence,
            "proposer": self.proposer,
            "model": self.model,
            "size": list(self.size),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def facts(self) -> list[tuple[Any, Any, Any, float]]:
        """The grounded facts as ``(subject, predicate, object, confidence)`` with rdflib terms."""
        from rdflib import RDF, XSD, Literal, URIRef

        from mmreason.kg.vocab import MR, SCENE

        scene = SCENE[self.image_id]
        facts: list[tuple[Any, Any, Any, float]] = [
            (scene, RDF.type, MR.Scene, 1.0),
            (scene, MR.weather, URIRef(self.weather.concept.iri), self.weather.confidence),
            (scene, MR.surface, URIRef(self.road.concept.iri), self.road.confidence),
        ]
        if self.light is not None:
            light = SCENE[f"{self.image_id}/traffic-light"]
            facts += [
                (scene, MR.depicts, light, 1.0),
                (light, RDF.type, MR.TrafficLight, 1.0),
                (light, MR.lightState, URIRef(self.light.concept.iri), self.light.confidence),
            ]
        crosswalk = SCENE[f"{self.image_id}/crosswalk"]
        if self.crosswalk_bbox is not None:
            facts += [(scene, MR.depicts, crosswalk, 1.0), (crosswalk, RDF.type, MR.Crosswalk, 1.0)]
        nodes = {o.id: SCENE[f"{self.image_id}/{o.id}"] for o in self.objects}
        for o in self.objects:
            node = nodes[o.id]
            facts.append((scene, MR.depicts, node, o.type.confidence))
            facts.append((node, RDF.type, URIRef(o.type.concept.iri), o.type.confidence))
            for prop, name in OBJECT_ATTRIBUTES.items():
                attribute = getattr(o, name)
                if attribute is not None:
                    facts.append((node, URIRef(prop), URIRef(attribute.concept.iri), attribute.confidence))
            if o.on_crosswalk:
                facts.append((node, MR.onCrosswalk, crosswalk, o.type.confidence))
            for prop, (name, _) in OBJECT_MEASURES.items():
                reading = getattr(o, name)
                if reading is not None:
                    value = Literal(round(reading, 3), datatype=XSD.double)
                    facts.append((node, URIRef(prop), value, o.type.confidence))
        for a in self.objects:
            for b in self.objects:
                if a.bbox[2] <= b.bbox[0]:
                    facts.append(
                        (nodes[a.id], MR.leftOf, nodes[b.id], min(a.type.confidence, b.type.confidence))
                    )
        return facts

    def to_rdf(self) -> rdflib.Graph:
        """The facts in a named graph for this image (``scene_graph_iri(image_id)``).

        Each fact is asserted, and reified (``rdf:Statement`` with ``rdf:subject``,
        ``rdf:predicate``, ``rdf:object``) to carry its ``mr:confidence``.
        """
        from rdflib import RDF, XSD, Graph, Literal

        from mmreason.kg.vocab import MR, SCENE, scene_graph_iri

        graph = Graph(identifier=scene_graph_iri(self.image_id))
        graph.bind("mr", MR)
        for i, (s, p, o, confidence) in enumerate(self.facts()):
            graph.add((s, p, o))
            statement = SCENE[f"{self.image_id}/fact-{i}"]
            graph.add((statement, RDF.type, RDF.Statement))
            graph.add((statement, RDF.subject, s))
            graph.add((statement, RDF.predicate, p))
            graph.add((statement, RDF.object, o))
            graph.add((statement, MR.confidence, Literal(round(float(confidence), 6), datatype=XSD.double)))
        return graph


def ground(
    image: ImageLike,
    *,
    encoder: ClipEncoder | None = None,
    vocabulary: Vocabulary | None = None,
    proposer: str = "auto",
    min_confidence: float = 0.5,
    image_id: str | None = None,
) -> SceneGraph:
    """Ground one image as a :class:`SceneGraph`.

    Args:
        image: a path, bytes, PIL image or array (loaded by :func:`~mmreason.vision.images.load_image`).
        encoder: the CLIP model (default: the bundled one, on CPU).
        vocabulary: the concepts to ground (default: read from ``graphs/crossing.ttl``).
        proposer: ``"segment"`` (crossing renders), ``"grid"`` (any photo) or ``"auto"`` (segment when
            the image has the world's size, else grid).
        min_confidence: grid regions whose best object class is below this are dropped.
        image_id: names the scene node and the named graph (default: the file stem, or ``"image"``).

    Raises:
        ImageError / MissingFileError: the image cannot be used.
        UnknownNameError: an unknown ``proposer``.
    """
    from mmreason.vision.world import HEIGHT, WIDTH

    if proposer not in PROPOSERS:
        raise UnknownNameError("proposer", proposer, PROPOSERS)
    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidInputError(f"min_confidence must be in [0, 1], found {min_confidence}")
    if image_id is None:
        from pathlib import Path

        image_id = Path(image).stem if isinstance(image, (str, Path)) else "image"
    picture = load_image(image)
    if encoder is None:
        encoder = _default_encoder()
    vocab = vocabulary if vocabulary is not None else Vocabulary.from_file()
    if proposer == "auto":
        proposer = "segment" if picture.size == (WIDTH, HEIGHT) else "grid"
    return _ground_impl(picture, encoder, vocab, proposer, min_confidence, image_id)


def _default_encoder() -> ClipEncoder:
    from mmreason.vision.encoder import ClipEncoder

    return ClipEncoder.default(device="cpu")


def _ground_impl(
    image: Image.Image,
    encoder: ClipEncoder,
    vocab: Vocabulary,
    proposer: str,
    min_confidence: float,
    image_id: str,
) -> SceneGraph:
    from mmreason.vision.world import EXPOSURE_S, LAYOUT, PIXELS_PER_METRE, read_trail

    original_size = image.size
    if proposer == "grid" and max(image.size) > _GRID_WORKING_SIDE:
        # Work on a reduced copy: crops are scored at the model's input size anyway, and memory stays bounded.
        image = image.copy()
        image.thumbnail((_GRID_WORKING_SIDE, _GRID_WORKING_SIDE))
    factor = original_size[0] / image.size[0]
    regions = segment_regions(image) if proposer == "segment" else grid_regions(image)
    crops = [square_crop(image, r.bbox, pad=0.2) for r in regions]
    features = encoder.encode_images([image, *crops, *(greyscale(c) for c in crops)])
    scene_features = features[:1]
    region_features = features[1 : 1 + len(crops)]  # colour: colours and light states
    shape_features = features[1 + len(crops) :]  # grey: object classes, read from the shape

    weather = _best(encoder, scene_features, vocab.of("weather"))[0]
    road = _best(encoder, scene_features, vocab.of("road"))[0]
    types = _best(encoder, shape_features, vocab.of("type")) if regions else []

    object_kinds = {c.iri for c in vocab.of("type") if c.name not in _BACKGROUND_CLASSES}
    keep: list[tuple[Region, Attribute, int]] = []
    lights: list[tuple[Region, int, Attribute]] = []
    for i, (region, kind) in enumerate(zip(regions, types, strict=True)):
        if kind.concept.iri not in object_kinds:
            continue
        if proposer == "grid" and kind.confidence < min_confidence:
            continue
        if kind.concept.name == _TRAFFIC_LIGHT_CLASS:
            lights.append((region, i, kind))
        else:
            keep.append((region, kind, i))
    if proposer == "grid":
        keep = _non_max_suppression(keep)
        lights = [(r, i, k) for r, k, i in _non_max_suppression([(r, k, i) for r, i, k in lights])]

    light = light_bbox = None
    if lights:
        region, index, _ = max(lights, key=lambda item: item[2].confidence)
        light = _best(encoder, region_features[index : index + 1], vocab.of("light"))[0]
        light_bbox = _scaled(region.bbox, factor)

    world = proposer == "segment"
    crosswalk = (
        (LAYOUT.crosswalk_x0, LAYOUT.road_top, LAYOUT.crosswalk_x1, LAYOUT.road_bottom) if world else None
    )
    colour_rows = [i for _, kind, i in keep if vocab.is_vehicle(kind.concept)]
    colours = dict(
        zip(colour_rows, _best(encoder, region_features[colour_rows], vocab.of("colour")), strict=True)
    )
    lamps: dict[int, Attribute] = {}
    if world and vocab.of("brakes") and colour_rows:
        # Brake lamps are read on a square at each vehicle's rear: its traffic direction says which end.
        boxes = [regions[i].bbox for i in colour_rows]
        rears = [square_crop(image, rear_box(b, facing_right=_facing_right(b)), pad=0.2) for b in boxes]
        lamps = dict(
            zip(colour_rows, _best(encoder, encoder.encode_images(rears), vocab.of("brakes")), strict=True)
        )
    counts: dict[str, int] = {}
    objects = []
    for region, kind, i in keep:
        number = counts.get(kind.value, 0)
        counts[kind.value] = number + 1
        on_crosswalk = distance = speed = None
        if crosswalk is not None:
            on_crosswalk = _on_crosswalk(region.bbox, crosswalk)
            if vocab.is_vehicle(kind.concept) and _approaching(region.bbox, crosswalk):
                distance = (crosswalk[0] - region.bbox[2]) / PIXELS_PER_METRE
                trail = read_trail(image, region.bbox)
                speed = None if trail is None else trail / (EXPOSURE_S * PIXELS_PER_METRE)
        objects.append(
            GroundedObject(
                id=f"{kind.concept.name.lower()}-{number}",
                type=kind,
                colour=colours.get(i),
                bbox=_scaled(region.bbox, factor),
                on_crosswalk=on_crosswalk,
                distance_to_crosswalk=distance,
                source=region.source,
                brake_lights=lamps.get(i),
                speed=speed,
            )
        )
    return SceneGraph(
        image_id=image_id,
        size=original_size,
        weather=weather,
        road=road,
        light=light,
        traffic_light_bbox=light_bbox,
        objects=tuple(objects),
        crosswalk_bbox=crosswalk,
        pixels_per_metre=PIXELS_PER_METRE if world else None,
        proposer=proposer,
        model=encoder.name,
    )


# Local names of the classes that grounding treats specially: the background of the street
# (a region CLIP calls road or crosswalk is no object) and the traffic light (read for its state).
_BACKGROUND_CLASSES = frozenset({"Road", "Crosswalk"})
_TRAFFIC_LIGHT_CLASS = "TrafficLight"
# The longer side of the working copy of a large photo for the grid proposer, in pixels.
_GRID_WORKING_SIDE = 1024


def _scaled(bbox: tuple[int, int, int, int], factor: float) -> tuple[int, int, int, int]:
    if factor == 1.0:
        return bbox
    return tuple(round(v * factor) for v in bbox)  # type: ignore[return-value]


def world_value(concept: Concept) -> str:
    """A concept as the world's truth JSON spells it: ``mr:Car`` → ``"car"``, ``mr:redLight`` → ``"red"``,
    ``mr:brakeLightsOn`` → ``"on"``.

    >>> from mmreason.vision.vocabulary import Concept
    >>> world_value(Concept("light", "http://mmreason.org/crossing#redLight", "red light", "a red light"))
    'red'
    """
    if concept.kind == "type":
        return concept.label
    if concept.kind == "light":
        return concept.name.removesuffix("Light")
    if concept.kind == "brakes":
        return concept.name.removeprefix("brakeLights").lower()
    return concept.name


def _best(encoder: ClipEncoder, features: Any, concepts: Sequence[Concept]) -> list[Attribute]:
    if len(features) == 0:
        return []
    probs = encoder.score_embeddings(features, [c.prompt for c in concepts])
    confidence, index = probs.max(dim=1)
    return [
        Attribute(
            concepts[int(j)],
            world_value(concepts[int(j)]),
            float(p),
            {c.iri: float(q) for c, q in zip(concepts, row.tolist(), strict=True)},
        )
        for p, j, row in zip(confidence, index, probs, strict=True)
    ]


def _facing_right(bbox: tuple[int, int, int, int]) -> bool:
    # In the world, traffic in the near lane drives right, towards the crosswalk; far-lane traffic
    # drives left, away from it.
    from mmreason.vision.world import LAYOUT

    return bbox[3] > (LAYOUT.far_lane_y + LAYOUT.near_lane_y) / 2


def _approaching(bbox: tuple[int, int, int, int], crosswalk: tuple[int, int, int, int]) -> bool:
    # Only vehicles driving towards the crosswalk, short of it, have a distance to it.
    return _facing_right(bbox) and bbox[2] <= crosswalk[0]


def _on_crosswalk(bbox: tuple[int, int, int, int], crosswalk: tuple[int, int, int, int]) -> bool:
    # On the crosswalk: at least half the box's width over it, and its feet on the road.
    x0, _, x1, y1 = bbox
    overlap = max(0, min(x1, crosswalk[2]) - max(x0, crosswalk[0]))
    return overlap >= 0.5 * (x1 - x0) and crosswalk[1] <= y1 <= crosswalk[3]


def _iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def _non_max_suppression(
    items: list[tuple[Region, Attribute, int]], *, threshold: float = 0.3
) -> list[tuple[Region, Attribute, int]]:
    kept: list[tuple[Region, Attribute, int]] = []
    for item in sorted(items, key=lambda it: -it[1].confidence):
        if all(_iou(item[0].bbox, k[0].bbox) < threshold for k in kept):
            kept.append(item)
    return sorted(kept, key=lambda it: it[0].bbox)
