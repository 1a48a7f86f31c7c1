"""The open vocabulary of grounding: a world's concepts, their ``rdfs:label``\\s and CLIP prompts.

Nothing here lists labels. A world's manifest names the class whose leaf
subclasses are the object types, the background classes, and the properties
read per object and per image; the values of a property are the individuals of
its ``rdfs:range``, each named by its ``rdfs:label``. A prompt template of the
manifest turns a label into the text CLIP scores (``"{a} {label} {domain}"``:
``"ripe"`` → ``"a ripe tomato"``, ``{domain}`` being the label of the property's
``rdfs:domain``); a concept's own ``mm:prompt`` replaces the template. The same
prompts are used in training and in grounding, and the training recipe records them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from mmreason.errors import UnknownNameError, WorldError

if TYPE_CHECKING:
    import rdflib

    from mmreason.worlds import World

__all__ = ["TYPE", "Concept", "Vocabulary", "local_name", "render_prompt"]

#: The kind of an object-type concept; an attribute value's kind is its property's IRI.
TYPE = "type"


def local_name(iri: str) -> str:
    """The part of an IRI after its last ``#`` or ``/``.

    >>> local_name("http://example.org/garden#Tomato")
    'Tomato'
    """
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def render_prompt(template: str, *, label: str, domain: str = "") -> str:
    """A template filled in; ``{a}`` becomes "a" or "an" by the word that follows it.

    >>> render_prompt("{a} {label} {domain}", label="unripe", domain="tomato")
    'an unripe tomato'
    >>> render_prompt("{a} {domain} with its {label}", label="leaves wilted", domain="plant")
    'a plant with its leaves wilted'
    """
    text = template.format(a="\x00", label=label, domain=domain)

    def article(match: re.Match[str]) -> str:
        return ("an" if match.group(1).lower() in "aeiou" else "a") + " " + match.group(1)

    text = re.sub(r"\x00 ?(\w)", article, text)
    return re.sub(r"\s+", " ", text.replace("\x00", "")).strip()


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept as grounding sees it: its kind, IRI, label and prompt."""

    kind: str  # TYPE, or the IRI of the property whose value it is
    iri: str
    label: str
    prompt: str

    @property
    def name(self) -> str:
        """The IRI's local name (``"Tomato"``, ``"red"``, ``"cherryTomato"``)."""
        return local_name(self.iri)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The concepts grounding scores, read from a world's ontology and manifest.

    ``types`` are every leaf class under the manifest's ``objects`` (background
    ones included: CLIP must be able to call a region background); ``values``
    maps each attribute property to its values; ``carriers`` maps an object
    attribute to the types it is read on (the leaves under its ``rdfs:domain``).
    """

    types: tuple[Concept, ...]
    background: frozenset[str]
    values: Mapping[str, tuple[Concept, ...]]
    object_attributes: tuple[str, ...]
    scene_attributes: tuple[str, ...]
    carriers: Mapping[str, frozenset[str]]
    superclasses: Mapping[str, frozenset[str]]  # type IRI -> its classes, itself included
    labels: Mapping[str, str]  # every labelled IRI of the ontology -> its label
    type_crop: str
    source: str

    @classmethod
    def from_world(cls, world: World | str | Path | None = None) -> Vocabulary:
        """The vocabulary of a world (default: the default bundled world), built once per World.

        Raises:
            WorldError: the world has no ``[vision]`` table, or a kind has no concepts.
        """
        from mmreason.worlds import resolve_world

        resolved = resolve_world(world)
        cached = _CACHE.get(id(resolved))
        if cached is None or cached[0] is not resolved:
            cached = (resolved, _build(resolved))
            _CACHE[id(resolved)] = cached
        return cached[1]

    # ------------------------------------------------------------------ lookup

    def of(self, kind: str) -> tuple[Concept, ...]:
        """The concepts of one kind: ``"type"``, or an attribute property's IRI."""
        if kind == TYPE:
            return self.types
        try:
            return self.values[kind]
        except KeyError:
            raise UnknownNameError("concept kind", kind, [TYPE, *self.values]) from None

    def prompts(self, kind: str) -> tuple[str, ...]:
        return tuple(c.prompt for c in self.of(kind))

    def concept(self, kind: str, prompt_or_label: str) -> Concept:
        for c in self.of(kind):
            if prompt_or_label in (c.prompt, c.label, c.name, c.iri):
                return c
        raise UnknownNameError(kind, prompt_or_label, [c.label for c in self.of(kind)])

    def by_name(self, kind: str, name: str) -> Concept:
        """The concept whose IRI local name is ``name``, case-insensitively (``"tomato"`` → ``g:Tomato``)."""
        for c in self.of(kind):
            if c.name.lower() == name.lower().replace(" ", ""):
                return c
        raise UnknownNameError(kind, name, [c.name for c in self.of(kind)])

    def is_background(self, concept: Concept) -> bool:
        return concept.iri in self.background

    def is_a(self, type_iri: str, cls: str) -> bool:
        """Whether the object type ``type_iri`` is ``cls`` or one of its subclasses."""
        return str(cls) in self.superclasses.get(str(type_iri), frozenset({str(type_iri)}))

    def attributes_of(self, type_iri: str) -> tuple[str, ...]:
        """The object attributes read on objects of one type, in manifest order."""
        return tuple(p for p in self.object_attributes if type_iri in self.carriers[p])

    def label(self, iri: str) -> str:
        return self.labels.get(str(iri), local_name(iri))

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        kinds = {TYPE: self.types, **self.values}
        return {
            k: [{"iri": c.iri, "label": c.label, "prompt": c.prompt} for c in v] for k, v in kinds.items()
        }


_CACHE: dict[int, tuple[object, Vocabulary]] = {}


def _build(world: World) -> Vocabulary:
    from rdflib import RDF, RDFS, URIRef
    from rdflib.namespace import SKOS

    from mmreason.kg.vocab import MM

    if world.vision is None:
        raise WorldError(
            f"{world.manifest}: the world {world.name!r} has no [vision] table, so nothing to ground"
        )
    vision = world.vision
    graph = world.graph
    order = _file_order(world)
    labels = {str(s): str(o) for s, o in graph.subject_objects(RDFS.label) if isinstance(s, URIRef)}

    def label(node: object) -> str:
        return labels.get(str(node), local_name(str(node)))

    def prompt(node: object, template: str, domain: str) -> str:
        own = graph.value(URIRef(str(node)), MM.prompt)
        return str(own) if own is not None else render_prompt(template, label=label(node), domain=domain)

    root = URIRef(vision.objects)
    below = _below(graph, root)
    leaves = sorted((c for c in below if not any(graph.triples((None, RDFS.subClassOf, c)))), key=order)
    if not leaves:
        raise WorldError(
            f"{world.manifest}: vision.objects: {world.curie(vision.objects)} has no leaf subclasses"
        )
    background = set()
    for cls in vision.background:
        node = URIRef(cls)
        background |= {str(c) for c in leaves if c == node or c in _below(graph, node)}
    objects_label = label(root)
    types = tuple(
        Concept(TYPE, str(c), label(c), prompt(c, vision.prompt_template("objects"), objects_label))
        for c in leaves
    )
    superclasses = {
        str(c): frozenset(str(s) for s in graph.transitive_objects(c, RDFS.subClassOf)) for c in leaves
    }
    countable = [c for c in types if c.iri not in background]
    values: dict[str, tuple[Concept, ...]] = {}
    carriers: dict[str, frozenset[str]] = {}
    for prop in (*vision.object_attributes, *vision.scene_attributes):
        node = URIRef(prop)
        value_class = graph.value(node, RDFS.range)
        members = sorted(set(graph.subjects(RDF.type, value_class)), key=order)
        domain = graph.value(node, RDFS.domain)
        domain_label = label(domain) if domain is not None else objects_label
        template = vision.prompt_template(prop)
        values[prop] = tuple(
            Concept(prop, str(m), label(m), prompt(m, template, domain_label)) for m in members
        )
        if prop in vision.object_attributes:
            carriers[prop] = frozenset(
                c.iri for c in countable if domain is None or str(domain) in superclasses[c.iri]
            )
            if not carriers[prop]:
                raise WorldError(
                    f"{world.manifest}: vision.object_attributes: no object type of the world is in "
                    "the domain "
                    f"of {world.curie(prop)} ({world.curie(str(domain))})"
                )
    for subject, alt in graph.subject_objects(SKOS.prefLabel):
        labels.setdefault(str(subject), str(alt))
    return Vocabulary(
        types=types,
        background=frozenset(background),
        values=MappingProxyType(values),
        object_attributes=vision.object_attributes,
        scene_attributes=vision.scene_attributes,
        carriers=MappingProxyType(carriers),
        superclasses=MappingProxyType(superclasses),
        labels=MappingProxyType(labels),
        type_crop=vision.type_crop,
        source=str(world.manifest),
    )


def _below(graph: rdflib.Graph, root: object) -> set[object]:
    from rdflib import RDFS

    return {c for c in graph.transitive_subjects(RDFS.subClassOf, root) if c != root}


def _file_order(world: World) -> object:
    """A sort key: where a concept is first stated in the ontology files, so prompts keep file order."""
    texts = []
    for path in world.ontology:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            texts.append("")
    text = "\n".join(texts)
    prefixes = dict(world.prefixes)

    def key(node: object) -> tuple[int, str]:
        iri = str(node)
        forms = [f"<{iri}>"] + [f"{p}:{iri[len(ns) :]}" for p, ns in prefixes.items() if iri.startswith(ns)]
        positions = []
        for form in forms:
            found = re.search(rf"(?m)^{re.escape(form)}(?=[\s;.,])", text)
            if found is None:
                found = re.search(rf"{re.escape(form)}(?=[\s;.,])", text)
            if found is not None:
                positions.append(found.start())
        return (min(positions) if positions else len(text), iri)

    return key


def concepts_by_iri(vocabulary: Vocabulary) -> dict[str, Concept]:
    """Every concept of a vocabulary by IRI (a value that two properties share maps to the first)."""
    out: dict[str, Concept] = {}
    for concepts in (vocabulary.types, *vocabulary.values.values()):
        for concept in concepts:
            out.setdefault(concept.iri, concept)
    return out


def iris(concepts: Iterable[Concept]) -> tuple[str, ...]:
    return tuple(c.iri for c in concepts)
