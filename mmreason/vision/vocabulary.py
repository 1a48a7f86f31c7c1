"""The open vocabulary of grounding: concepts and their ``rdfs:label``\\s, read from a KG.

Nothing here lists labels: object types are the leaf classes under
``mr:SceneObject``, colours, weathers, road surfaces and light states are the
individuals of ``mr:Colour``, ``mr:Weather``, ``mr:RoadSurface``,
``mr:LightState`` and ``mr:BrakeLightState``, each named by its ``rdfs:label``. A prompt template turns a
label into the text CLIP scores (``"car"`` → ``"a car"``); the same templates
are used in training and in grounding, and the training recipe records them.

>>> vocab = Vocabulary.from_file()
>>> vocab.prompts("colour")[:2]
('a red vehicle', 'a blue vehicle')
>>> vocab.concept("type", "a traffic light").label
'traffic light'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from mmreason.errors import GraphParseError, InvalidInputError, MissingFileError, UnknownNameError
from mmreason.paths import bundled_graphs_dir

__all__ = ["PROMPT_TEMPLATES", "Concept", "Vocabulary"]

#: How each kind of concept becomes a prompt; ``{label}`` is the concept's label, ``{a}`` its
#: indefinite article, ``{vehicle}`` the label of ``mr:Vehicle``.
PROMPT_TEMPLATES: Mapping[str, str] = MappingProxyType(
    {
        "type": "{a} {label}",
        "colour": "{a} {label} {vehicle}",
        "weather": "{label}",
        "road": "{a} {label}",
        "light": "{a} {label}",
        "brakes": "{a} {vehicle} with its {label}",
    }
)
KINDS = tuple(PROMPT_TEMPLATES)
#: Kinds a KG may leave out (its vehicles then have no brake lights to ground).
OPTIONAL_KINDS = frozenset({"brakes"})


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept of the KG as grounding sees it: its IRI, label and prompt."""

    kind: str
    iri: str
    label: str
    prompt: str

    @property
    def name(self) -> str:
        """The IRI's local name (``"Car"``, ``"red"``, ``"redLight"``)."""
        return self.iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The concepts of each kind (``type``, ``colour``, ``weather``, ``road``, ``light``, ``brakes``).

    Concepts of a kind are in KG order.
    """

    concepts: Mapping[str, tuple[Concept, ...]]
    vehicle_types: frozenset[str]  # IRIs of the classes under mr:Vehicle
    source: str

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> Vocabulary:
        """Read the vocabulary from a Turtle file (default: ``graphs/crossing.ttl``).

        Raises:
            MissingFileError: the file does not exist.
            GraphParseError: the file is not valid Turtle.
            InvalidInputError: a kind of concept has no members in the file.
        """
        path = Path(path) if path is not None else bundled_graphs_dir() / "crossing.ttl"
        if not path.is_file():
            raise MissingFileError(path, what="knowledge graph")
        return _from_file(str(path.resolve()), path.stat().st_mtime_ns)

    def of(self, kind: str) -> tuple[Concept, ...]:
        """The concepts of one kind."""
        try:
            return self.concepts[kind]
        except KeyError:
            raise UnknownNameError("concept kind", kind, self.concepts) from None

    def prompts(self, kind: str) -> tuple[str, ...]:
        return tuple(c.prompt for c in self.of(kind))

    def concept(self, kind: str, prompt_or_label: str) -> Concept:
        for c in self.of(kind):
            if prompt_or_label in (c.prompt, c.label, c.name, c.iri):
                return c
        raise UnknownNameError(kind, prompt_or_label, [c.label for c in self.of(kind)])

    def by_name(self, kind: str, name: str) -> Concept:
        """The concept whose IRI local name is ``name``, case-insensitively (``"car"`` → ``mr:Car``)."""
        for c in self.of(kind):
            if c.name.lower() == name.lower().replace(" ", ""):
                return c
        raise UnknownNameError(kind, name, [c.name for c in self.of(kind)])

    def is_vehicle(self, concept: Concept) -> bool:
        return concept.iri in self.vehicle_types

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {
            k: [{"iri": c.iri, "label": c.label, "prompt": c.prompt} for c in v]
            for k, v in self.concepts.items()
        }


def _prompt(kind: str, label: str, vehicle: str) -> str:
    article = "an" if label[:1].lower() in "aeiou" else "a"
    return PROMPT_TEMPLATES[kind].format(a=article, label=label, vehicle=vehicle)


@lru_cache(maxsize=8)
def _from_file(path: str, mtime_ns: int) -> Vocabulary:
    import rdflib
    from rdflib import RDF, RDFS

    from mmreason.kg.vocab import MR

    graph = rdflib.Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as exc:
        raise GraphParseError(str(exc), path=path) from None

    def label(node: rdflib.term.Node) -> str:
        value = graph.value(node, RDFS.label)
        return str(value) if value is not None else str(node).rsplit("#", 1)[-1]

    def subclasses(root: rdflib.URIRef) -> list[rdflib.URIRef]:
        return [c for c in graph.transitive_subjects(RDFS.subClassOf, root) if c != root]

    # File order is not kept by rdflib; order by the position of each subject in the file for stability.
    text = Path(path).read_text(encoding="utf-8")

    def order(node: rdflib.term.Node) -> tuple[int, str]:
        local = str(node).rsplit("#", 1)[-1]
        pos = text.find(f"\nmr:{local} ")
        return (pos if pos >= 0 else len(text), str(node))

    scene_classes = subclasses(MR.SceneObject)
    leaves = [c for c in scene_classes if not any(graph.triples((None, RDFS.subClassOf, c)))]
    vehicle = label(MR.Vehicle)
    members = {
        "type": sorted(leaves, key=order),
        "colour": sorted(graph.subjects(RDF.type, MR.Colour), key=order),
        "weather": sorted(graph.subjects(RDF.type, MR.Weather), key=order),
        "road": sorted(graph.subjects(RDF.type, MR.RoadSurface), key=order),
        "light": sorted(graph.subjects(RDF.type, MR.LightState), key=order),
        "brakes": sorted(graph.subjects(RDF.type, MR.BrakeLightState), key=order),
    }
    concepts = {}
    for kind, nodes in members.items():
        if not nodes and kind not in OPTIONAL_KINDS:
            raise InvalidInputError(f"{path}: no concepts of kind {kind!r} (see mmreason.vision.vocabulary)")
        concepts[kind] = tuple(
            Concept(kind, str(n), label(n), _prompt(kind, label(n), vehicle)) for n in nodes
        )
    return Vocabulary(
        concepts=MappingProxyType(concepts),
        vehicle_types=frozenset(str(c) for c in subclasses(MR.Vehicle)),
        source=path,
    )
