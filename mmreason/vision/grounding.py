"""Grounding: an image in, a scene graph of a world's concepts out, every fact with its confidence.

The pipeline (as in region-based open-vocabulary detectors, e.g. Gu et al.
"ViLD", ICLR 2022, with class-agnostic proposals scored by CLIP):

1. Regions are proposed class-agnostically (:mod:`mmreason.vision.proposals`):
   the world's own proposer where it has one and the picture is its kind,
   background segmentation for a plain background, sliding windows for any photo.
2. Each region's square crop is scored by CLIP against the prompts of the
   world's object types (on the grey crop when the manifest says
   ``type_crop = "grey"``: the type is read from the shape); regions that CLIP
   calls a background class drop out.
3. Each object attribute of the manifest is scored on the colour crop of the
   objects whose type lies in the property's ``rdfs:domain``; each scene
   attribute on the whole image.
4. ``mm:leftOf`` follows from the boxes. The world's readers (code the manifest
   names) then add what its pictures encode: measurements, relations to
   background regions, attributes read on a part of an object.

Everything is keyed by the IRIs of the world's ontology; a :class:`SceneGraph`
has no field that names a world's concept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from mmreason.errors import InvalidInputError, ModelLoadError, UnknownNameError
from mmreason.vision.images import ImageLike, load_image
from mmreason.vision.proposals import (
    Region,
    box_iou,
    greyscale,
    grid_regions,
    segment_regions,
    square_crop,
)
from mmreason.vision.vocabulary import TYPE, Concept, Vocabulary, local_name

if TYPE_CHECKING:
    import rdflib
    import torch
    from PIL import Image

    from mmreason.vision.encoder import ClipEncoder
    from mmreason.worlds import World

__all__ = [
    "PROPOSERS",
    "Attribute",
    "Fact",
    "GroundedObject",
    "GroundedRegion",
    "Relation",
    "SceneEvent",
    "SceneGraph",
    "best_concepts",
    "ground",
    "picture_reliability",
    "world_encoder",
]

PROPOSERS = ("auto", "segment", "grid")


@dataclass(frozen=True, slots=True)
class Attribute:
    """One grounded value: the concept, its label, and CLIP's probability for it."""

    concept: Concept
    value: str  # the concept's label, as answers print it
    confidence: float
    # CLIP's probability of every concept of the kind, by IRI (None when only the best is known).
    distribution: Mapping[str, float] | None = field(default=None, compare=False)
    how: str = "CLIP"  # how it was read: "CLIP", or a reader's own words

    @classmethod
    def of(
        cls, concept: Concept, confidence: float, distribution: Mapping[str, float] | None = None
    ) -> Attribute:
        return cls(concept, concept.label, float(confidence), distribution)

    def probability(self, iris: set[str] | frozenset[str]) -> float:
        """P(the concept is one of ``iris``): summed over the distribution when it is known."""
        if self.distribution:
            return float(sum(p for iri, p in self.distribution.items() if iri in iris))
        return self.confidence if self.concept.iri in iris else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "iri": self.concept.iri, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class GroundedObject:
    """A countable object found in the image: its type, box, attributes and measurements by IRI."""

    id: str
    type: Attribute
    bbox: tuple[int, int, int, int]
    source: str
    attributes: Mapping[str, Attribute] = field(default_factory=lambda: MappingProxyType({}))
    measures: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # A clip's measurements over time, by property IRI: (seconds from its first frame, value) pairs.
    series: Mapping[str, tuple[tuple[float, float], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def attribute(self, prop: str) -> Attribute | None:
        return self.attributes.get(str(prop))

    def measure_at(self, prop: str, time: float, *, within: float) -> float | None:
        """``prop`` measured at the sample of :attr:`series` nearest ``time``, if one is ``within`` of it."""
        samples = self.series.get(str(prop), ())
        if not samples:
            return None
        at, value = min(samples, key=lambda s: abs(s[0] - time))
        return value if abs(at - time) <= within else None

    def measure(self, prop: str) -> float | None:
        return self.measures.get(str(prop))

    def with_attribute(self, prop: str, attribute: Attribute | None) -> GroundedObject:
        """A copy with ``prop`` set to ``attribute`` (removed when None)."""
        attributes = {k: v for k, v in self.attributes.items() if k != str(prop)}
        if attribute is not None:
            attributes[str(prop)] = attribute
        return replace(self, attributes=MappingProxyType(attributes))

    def with_measures(self, measures: Mapping[str, float]) -> GroundedObject:
        return replace(self, measures=MappingProxyType({**self.measures, **measures}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "iri": self.type.concept.iri,
            "confidence": round(self.type.confidence, 4),
            "bbox": list(self.bbox),
            "attributes": {local_name(p): a.to_dict() for p, a in self.attributes.items()},
            "measures": {local_name(p): round(v, 3) for p, v in self.measures.items()},
        }


@dataclass(frozen=True, slots=True)
class GroundedRegion:
    """A background region the picture shows (a lawn, a path): not counted, but related to."""

    id: str
    cls: str
    label: str
    bbox: tuple[int, int, int, int]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.label, "iri": self.cls, "bbox": list(self.bbox)}


@dataclass(frozen=True, slots=True)
class Relation:
    """``subject property object``: ids of objects or regions of the same scene."""

    subject: str
    property: str
    object: str
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class SceneEvent:
    """Something a clip shows happening: the event's class IRI (below ``mm:Event`` in the world's
    ontology), its time in seconds from the clip's first frame, how sure the reading is, and
    the object it happened to (None: the scene)."""

    cls: str
    time: float
    confidence: float = 1.0
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": local_name(self.cls),
            "iri": self.cls,
            "time": round(self.time, 3),
            "confidence": round(self.confidence, 4),
            "subject": self.subject,
        }


class Fact(NamedTuple):
    """One grounded fact with rdflib terms: ``(subject, property, value, confidence)``."""

    subject: Any
    property: Any
    value: Any
    confidence: float


@dataclass(frozen=True, slots=True)
class SceneGraph:
    """What one image shows, as a world's concepts with confidences, keyed by IRI.

    ``to_rdf()`` gives the facts as triples in a named graph for this image, each
    reified with its ``mm:confidence``; ``to_dict()`` the same for JSON.
    """

    image_id: str
    size: tuple[int, int]
    attributes: Mapping[str, Attribute]  # scene attributes by property IRI
    objects: tuple[GroundedObject, ...]
    proposer: str
    model: str
    regions: tuple[GroundedRegion, ...] = ()
    relations: tuple[Relation, ...] = ()
    notes: tuple[str, ...] = ()  # what readers did, in words (scale, calibration)
    # How far the picture is from what the model was trained on: 1.0 within it; less for a picture
    # much smaller, of another shape, or changed by its conversion; 0.0 for one the model cannot read.
    reliability: float = 1.0
    warnings: tuple[str, ...] = ()
    # What a clip shows over time: its events in time order and its length in seconds and
    # frames per second (None, () for a still picture).
    events: tuple[SceneEvent, ...] = ()
    duration: float | None = None
    fps: float | None = None

    def attribute(self, prop: str) -> Attribute | None:
        """The scene attribute ``prop`` states, or None when it was not read."""
        return self.attributes.get(str(prop))

    def object(self, object_id: str) -> GroundedObject | None:
        return next((o for o in self.objects if o.id == object_id), None)

    def related(self, object_id: str, prop: str) -> tuple[Relation, ...]:
        """The relations ``object_id prop ?x`` of this scene."""
        return tuple(r for r in self.relations if r.subject == object_id and r.property == str(prop))

    def relation_properties(self) -> frozenset[str]:
        return frozenset(r.property for r in self.relations)

    def facts(self) -> list[Fact]:
        """The grounded facts, with rdflib terms."""
        from rdflib import RDF, RDFS, XSD, Literal, URIRef

        from mmreason.kg.vocab import MM, SCENE

        scene = SCENE[self.image_id]
        facts = [Fact(scene, RDF.type, MM.Scene, 1.0)]
        facts += [
            Fact(scene, URIRef(p), URIRef(a.concept.iri), a.confidence) for p, a in self.attributes.items()
        ]
        nodes = {o.id: SCENE[f"{self.image_id}/{o.id}"] for o in self.objects}
        confidence = {o.id: o.type.confidence for o in self.objects}
        for region in self.regions:
            nodes[region.id] = SCENE[f"{self.image_id}/{region.id}"]
            confidence[region.id] = 1.0
            facts += [
                Fact(scene, MM.depicts, nodes[region.id], 1.0),
                Fact(nodes[region.id], RDF.type, URIRef(region.cls), 1.0),
            ]
        for o in self.objects:
            node = nodes[o.id]
            facts.append(Fact(scene, MM.depicts, node, o.type.confidence))
            facts.append(Fact(node, RDF.type, URIRef(o.type.concept.iri), o.type.confidence))
            facts.append(Fact(node, RDFS.label, Literal(o.id), 1.0))
            for prop, attribute in o.attributes.items():
                facts.append(Fact(node, URIRef(prop), URIRef(attribute.concept.iri), attribute.confidence))
            for prop, reading in o.measures.items():
                value = Literal(round(float(reading), 3), datatype=XSD.double)
                facts.append(Fact(node, URIRef(prop), value, o.type.confidence))
        for r in self.relations:
            if r.subject in nodes and r.object in nodes:
                p = min(confidence[r.subject], confidence[r.object], r.confidence)
                facts.append(Fact(nodes[r.subject], URIRef(r.property), nodes[r.object], p))
        for a in self.objects:
            for b in self.objects:
                if a.bbox[2] <= b.bbox[0]:
                    p = min(a.type.confidence, b.type.confidence)
                    facts.append(Fact(nodes[a.id], MM.leftOf, nodes[b.id], p))
        return facts

    def to_rdf(self) -> rdflib.Graph:
        """The facts in a named graph for this image (``scene_graph_iri(image_id)``).

        Each fact is asserted, and reified (``rdf:Statement`` with ``rdf:subject``,
        ``rdf:predicate``, ``rdf:object``) to carry its ``mm:confidence``.
        """
        from rdflib import RDF, XSD, Graph, Literal

        from mmreason.kg.vocab import MM, SCENE, scene_graph_iri

        graph = Graph(identifier=scene_graph_iri(self.image_id))
        graph.bind("mm", MM)
        for i, (s, p, o, confidence) in enumerate(self.facts()):
            graph.add((s, p, o))
            statement = SCENE[f"{self.image_id}/fact-{i}"]
            graph.add((statement, RDF.type, RDF.Statement))
            graph.add((statement, RDF.subject, s))
            graph.add((statement, RDF.predicate, p))
            graph.add((statement, RDF.object, o))
            graph.add((statement, MM.confidence, Literal(round(float(confidence), 6), datatype=XSD.double)))
        return graph

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image_id,
            "size": list(self.size),
            "attributes": {local_name(p): a.to_dict() for p, a in self.attributes.items()},
            "objects": [o.to_dict() for o in self.objects],
            "regions": [r.to_dict() for r in self.regions],
            "relations": [
                {"subject": r.subject, "property": local_name(r.property), "object": r.object}
                for r in self.relations
            ],
            "notes": list(self.notes),
            "events": [e.to_dict() for e in self.events],
            "duration": self.duration,
            "reliability": self.reliability,
            "warnings": list(self.warnings),
            "proposer": self.proposer,
            "model": self.model,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# ----------------------------------------------------------------------------- grounding


def ground(
    image: ImageLike,
    *,
    world: World | str | Path | None = None,
    encoder: ClipEncoder | None = None,
    vocabulary: Vocabulary | None = None,
    proposer: str = "auto",
    min_confidence: float = 0.5,
    image_id: str | None = None,
) -> SceneGraph:
    """Ground one image as a :class:`SceneGraph` of ``world``'s concepts.

    Args:
        image: a path, bytes, PIL image or array (loaded by :func:`~mmreason.vision.images.load_image`).
        world: a world folder, its name, or a :class:`~mmreason.worlds.World` (default: the
            default bundled world).
        encoder: the CLIP model (default: the world's own, on CPU).
        vocabulary: the concepts to ground (default: the world's).
        proposer: ``"auto"`` (the world's proposer, falling back to the grid for pictures it
            does not take), ``"segment"`` (the world's proposer, or background segmentation
            for a plain background) or ``"grid"`` (sliding windows, any photo).
        min_confidence: grid regions whose best object type is below this are dropped.
        image_id: names the scene node and the named graph (default: the file stem, or ``"image"``).

    Raises:
        ImageError / MissingFileError: the image cannot be used.
        UnknownNameError: an unknown ``proposer``.
        ModelLoadError: the world has no encoder and none was given.
    """
    from mmreason.worlds import resolve_world

    if proposer not in PROPOSERS:
        raise UnknownNameError("proposer", proposer, PROPOSERS)
    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidInputError(f"min_confidence must be in [0, 1], found {min_confidence}")
    if image_id is None:
        image_id = Path(image).stem if isinstance(image, (str, Path)) else "image"
    picture = load_image(image)
    resolved = resolve_world(world)
    vocab = vocabulary if vocabulary is not None else Vocabulary.from_world(resolved)
    if encoder is None:
        encoder = world_encoder(resolved)
    regions, used = _propose(picture, resolved, proposer)
    scene = _ground_impl(picture, encoder, vocab, regions, used, min_confidence, image_id)
    for reader in resolved.load_readers():
        scene = reader(scene, picture, encoder=encoder, vocabulary=vocab)
    reliability, warnings = picture_reliability(picture, encoder.image_sizes)
    return replace(scene, reliability=reliability, warnings=warnings)


def numbered(objects: Iterable[GroundedObject]) -> tuple[GroundedObject, ...]:
    """The objects with ids from their types, in order: ``box-0``, ``box-1``, ``ring-0`` (a reader
    that changes a type gives ids again with this)."""
    counts: dict[str, int] = {}
    out = []
    for obj in objects:
        name = obj.type.concept.name
        out.append(replace(obj, id=f"{name.lower()}-{counts.get(name, 0)}"))
        counts[name] = counts.get(name, 0) + 1
    return tuple(out)


def picture_reliability(
    picture: Image.Image, sizes: Mapping[str, Sequence[int]] | None
) -> tuple[float, tuple[str, ...]]:
    """(reliability, warnings) of a picture for a model trained on pictures of ``sizes``
    (``{"width": [lo, hi], "height": [lo, hi]}``): its conversions, how much smaller it is (under a
    quarter of the smallest training side: 0; under half: 1/2), how different its shape (an aspect
    ratio 1.5 times outside the training range: 1/2).

    >>> from PIL import Image
    >>> picture_reliability(Image.new("RGB", (1, 1)), {"width": [640, 640], "height": [320, 320]})[0]
    0.0
    >>> picture_reliability(Image.new("RGB", (600, 300), "red"), {"width": [640, 640], "height": [320, 320]})
    (1.0, ())
    """
    from mmreason.vision.images import conversions

    reliability, warnings = 1.0, []
    for what, trust in conversions(picture):
        reliability *= trust
        warnings.append(f"the picture was converted: {what}")
    if sizes:
        (wlo, whi), (hlo, hhi) = sizes["width"], sizes["height"]
        width, height = picture.size
        trained = f"the {wlo}×{hlo}" + ("" if (wlo, hlo) == (whi, hhi) else f" to {whi}×{hhi}") + " pictures"
        side, smallest = min(width, height), min(wlo, hlo)
        if side < smallest / 4:
            reliability = 0.0
            warnings.append(f"{width}×{height} is far smaller than {trained} the model was trained on")
        elif side < smallest / 2:
            reliability *= 0.5
            warnings.append(f"{width}×{height} is much smaller than {trained} the model was trained on")
        aspect, low, high = width / height, wlo / hhi, whi / hlo
        if aspect < low / 1.5 or aspect > high * 1.5:
            reliability *= 0.5
            warnings.append(f"its shape ({aspect:.2f}:1) is unlike {trained} the model was trained on")
        if _is_grey(picture):
            reliability *= 0.5
            warnings.append("a grey picture: the model was trained on colour ones")
    return reliability, tuple(warnings)


def _is_grey(picture: Image.Image) -> bool:
    import numpy as np

    small = picture.copy()
    small.thumbnail((64, 64))
    pixels = np.asarray(small.convert("RGB"), dtype=np.int16)
    return bool(np.abs(pixels - pixels[..., :1]).max(initial=0) <= 2)


def world_encoder(world: World, *, device: Any = "cpu") -> ClipEncoder:
    """The CLIP model a world ships (its manifest's ``encoder`` folder)."""
    from mmreason.vision.encoder import ClipEncoder

    if world.encoder is None or not world.encoder.exists():
        what = "names no encoder" if world.encoder is None else f"has no trained model in {world.encoder} yet"
        raise ModelLoadError(
            f"the world {world.name!r} ({world.manifest}) {what}; train one with "
            f"`mmreason train-clip --world {world.root}` or pass encoder="
        )
    return ClipEncoder.from_folder(world.encoder, device=device)


# The longer side of the working copy of a large photo for the grid proposer, in pixels.
_GRID_WORKING_SIDE = 1024


def _propose(picture: Image.Image, world: World, proposer: str) -> tuple[list[Region] | None, str]:
    """(regions, the proposer that made them); None regions: the grid, on a working copy."""
    if proposer == "grid":
        return None, "grid"
    own = world.load_proposer()
    if own is not None:
        regions = own(picture)
        if regions is not None:
            return list(regions), "world"
        if proposer == "segment":
            raise InvalidInputError(
                f"the world {world.name!r} proposes regions only on its own pictures; use proposer='grid'"
            )
        return None, "grid"
    declared = world.vision.proposer if world.vision is not None else "grid"
    if proposer == "segment" or declared == "segment":
        return segment_regions(picture), "segment"
    return None, "grid"


def _ground_impl(
    image: Image.Image,
    encoder: ClipEncoder,
    vocab: Vocabulary,
    regions: list[Region] | None,
    proposer: str,
    min_confidence: float,
    image_id: str,
) -> SceneGraph:
    original_size = image.size
    working = image
    if regions is None:
        if max(image.size) > _GRID_WORKING_SIDE:
            # Work on a reduced copy: crops are scored at the model's input size anyway, and memory
            # stays bounded.
            working = image.copy()
            working.thumbnail((_GRID_WORKING_SIDE, _GRID_WORKING_SIDE))
        regions = grid_regions(working)
    factor = original_size[0] / working.size[0]
    crops = [square_crop(working, r.bbox, pad=0.2) for r in regions]
    grey = vocab.type_crop == "grey"
    features = encoder.encode_images([working, *crops, *((greyscale(c) for c in crops) if grey else ())])
    scene_features = features[:1]
    colour_features = features[1 : 1 + len(crops)]
    type_features = features[1 + len(crops) :] if grey else colour_features

    types = best_concepts(encoder, type_features, vocab.types) if regions else []
    keep: list[tuple[Region, Attribute, int]] = []
    for i, (region, kind) in enumerate(zip(regions, types, strict=True)):
        if vocab.is_background(kind.concept):
            continue
        if proposer == "grid" and kind.confidence < min_confidence:
            continue
        keep.append((region, kind, i))
    if proposer == "grid":
        keep = _non_max_suppression(keep)

    read: dict[int, dict[str, Attribute]] = {i: {} for _, _, i in keep}
    for prop in vocab.object_attributes:
        rows = [i for _, kind, i in keep if kind.concept.iri in vocab.carriers[prop]]
        if rows:
            for i, attribute in zip(
                rows, best_concepts(encoder, colour_features[rows], vocab.of(prop)), strict=True
            ):
                read[i][prop] = attribute
    objects = numbered(
        GroundedObject(
            id="",
            type=kind,
            bbox=_scaled(region.bbox, factor),
            source=region.source,
            attributes=MappingProxyType(read[i]),
        )
        for region, kind, i in keep
    )
    attributes = {
        prop: best_concepts(encoder, scene_features, vocab.of(prop))[0] for prop in vocab.scene_attributes
    }
    return SceneGraph(
        image_id=image_id,
        size=original_size,
        attributes=MappingProxyType(attributes),
        objects=tuple(objects),
        proposer=proposer,
        model=encoder.name,
    )


def best_concepts(
    encoder: ClipEncoder, features: torch.Tensor, concepts: Sequence[Concept]
) -> list[Attribute]:
    """Per row of ``features``: the likeliest of ``concepts``, with CLIP's full distribution."""
    if len(features) == 0:
        return []
    probs = encoder.score_embeddings(features, [c.prompt for c in concepts])
    confidence, index = probs.max(dim=1)
    return [
        Attribute.of(
            concepts[int(j)], float(p), {c.iri: float(q) for c, q in zip(concepts, row.tolist(), strict=True)}
        )
        for p, j, row in zip(confidence, index, probs, strict=True)
    ]


def _scaled(bbox: tuple[int, int, int, int], factor: float) -> tuple[int, int, int, int]:
    if factor == 1.0:
        return bbox
    return tuple(round(v * factor) for v in bbox)  # type: ignore[return-value]


def _non_max_suppression(
    items: list[tuple[Region, Attribute, int]], *, threshold: float = 0.3
) -> list[tuple[Region, Attribute, int]]:
    kept: list[tuple[Region, Attribute, int]] = []
    for item in sorted(items, key=lambda it: -it[1].confidence):
        if all(box_iou(item[0].bbox, k[0].bbox) < threshold for k in kept):
            kept.append(item)
    return sorted(kept, key=lambda it: it[0].bbox)


def iter_types(vocabulary: Vocabulary) -> Iterator[Concept]:
    """The countable object types of a vocabulary."""
    return (c for c in vocabulary.of(TYPE) if not vocabulary.is_background(c))
