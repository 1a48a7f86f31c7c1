"""What the words of a question can mean: the concepts of a KG and of an SCM, by label.

A :class:`Lexicon` holds every labelled concept of the knowledge graph
(classes, properties, individuals such as colours or weathers) and of the
causal models (variables and their values). Words are resolved to concepts by
embedding similarity to their labels, restricted to the kinds a slot of the
grammar accepts, so "tomatoes" finds ``g:Tomato`` and "vegetables" finds
``g:Vegetable`` with no synonym lists in code. Alternative labels
(``skos:altLabel``) in the graph widen what is understood.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.namespace import SKOS

from mmreason.qa.embed import MiniLMEmbedder, TextEmbedder

__all__ = [
    "CLASS",
    "EVENT",
    "PROPERTY",
    "Concept",
    "Lexicon",
    "Match",
    "Schema",
    "variable_concepts",
    "variable_words",
]

#: The kind of a class concept; an individual's kind is the IRI of its class.
CLASS = "class"
#: The kind of an event class (one below ``mm:Event``): what a clip shows happening at a time.
EVENT = "event"
#: The kind of a property concept.
PROPERTY = "property"

# Below this cosine similarity a phrase means none of the candidates.
DEFAULT_THRESHOLD = 0.55
# The temperature of the softmax over a slot's candidates' cosine similarities that says how sure
# a reading is (CLIP's own is 0.01, its logit scale of 100): a phrase 0.06 closer to one label
# than to the next is read as it with p ≈ 0.95, one 0.1 closer with p ≈ 0.99.
SLOT_TEMPERATURE = 0.02


@dataclass(frozen=True, slots=True)
class Concept:
    """A thing a word can name: a KG class, property or individual, or an SCM variable or value."""

    key: str  # the IRI, or "Variable" / "Variable=value" for SCM concepts
    label: str  # the preferred label, as answers print it
    kind: str  # CLASS, PROPERTY, an individual's class IRI, "variable", "value:<Variable>"
    alt_labels: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.alt_labels)


@dataclass(frozen=True, slots=True)
class Match:
    """A phrase resolved to a concept: the similarity that chose it, and ``p``, how sure the choice is
    among the candidates of its slot (see :meth:`Lexicon.rank`)."""

    phrase: str
    concept: Concept
    score: float
    p: float = 1.0


@dataclass(frozen=True, slots=True)
class Schema:
    """The parts of an RDFS ontology the grammar needs: hierarchy, property domains and ranges."""

    superclasses: Mapping[str, frozenset[str]]  # class -> all its superclasses (transitive, itself included)
    domains: Mapping[str, str]  # property -> rdfs:domain
    ranges: Mapping[str, str]  # property -> rdfs:range
    types: Mapping[str, str]  # individual -> its rdf:type

    def is_subclass(self, cls: str, of: str) -> bool:
        return of in self.superclasses.get(cls, frozenset({cls}))

    def subclasses(self, cls: str) -> frozenset[str]:
        return frozenset(c for c, supers in self.superclasses.items() if cls in supers)

    def property_for_value(self, value: str, *, among: Iterable[str] | None = None) -> str | None:
        """The property whose range is the class of ``value`` (``g:ripe`` -> ``g:ripeness``),
        the first in IRI order among ``among`` when given."""
        kind = self.types.get(value, CLASS if value in self.superclasses else None)
        allowed = None if among is None else set(among)
        matches = sorted(
            p for p, r in self.ranges.items() if _in_range(kind, r) and (allowed is None or p in allowed)
        )
        return matches[0] if matches else None

    def applicable(self, cls: str) -> frozenset[str]:
        """The properties an instance of ``cls`` can have: no ``rdfs:domain``, or a domain above or
        below ``cls`` (a plant may have a fruit's ripeness)."""
        supers = self.superclasses.get(cls, frozenset({cls}))
        return frozenset(
            p
            for p in self.ranges
            if p not in self.domains
            or self.domains[p] in supers
            or cls in self.superclasses.get(self.domains[p], frozenset())
        )

    def value_kinds(self, properties: Iterable[str]) -> set[str]:
        """The lexicon kinds of the values of ``properties``: their ranges' IRIs, or ``CLASS``."""
        return {CLASS if r == _RDFS_CLASS else r for p in properties if (r := self.ranges.get(p))}


def variable_concepts(
    name: str, domain: Sequence[object], *, phrases: Mapping[str, Sequence[str]] | None = None
) -> list[Concept]:
    """The concepts of one SCM variable: the variable, and one ``state`` per value.

    A state is labelled "season is winter" for a named value and, for a 0/1
    variable, "frost" / "no frost"; ``phrases`` adds labels by key
    (``"Frost=1": ["the tomatoes froze"]``).

    >>> [c.label for c in variable_concepts("Season", ["summer", "winter"])]
    ['season', 'season is summer', 'season is winter']
    """
    phrases = phrases or {}
    words = variable_words(name)
    concepts = [Concept(name, words, "variable", tuple(phrases.get(name, ())))]
    binary = sorted(str(v) for v in domain) == ["0", "1"]
    for value in domain:
        key = f"{name}={value}"
        label = (words if str(value) == "1" else f"no {words}") if binary else f"{words} is {value}"
        extra = tuple(phrases.get(key, ()))
        if binary and str(value) == "1":
            # A 0/1 variable's own words ("the prisoner dies") say that it holds.
            extra += tuple(w for w in phrases.get(name, ()) if w not in extra)
        concepts.append(Concept(key, label, "state", extra))
    return concepts


def scm_phrases(scm: Any) -> dict[str, list[str]]:
    """The description of each variable of an SCM, exogenous ones included, as a phrase for it."""
    out: dict[str, list[str]] = {}
    for name in scm.variables:
        if scm.spec.variables[name].description:
            out[name] = [scm.spec.variables[name].description]
    for name in scm.exogenous:
        if scm.spec.exogenous[name].description:
            out[name] = [scm.spec.exogenous[name].description]
    return out


def variable_words(name: str) -> str:
    """``"WetGrass"`` -> ``"wet grass"``: an SCM variable name read as words.

    >>> variable_words("DaysToHarvest")
    'days to harvest'
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()


@dataclass
class Lexicon:
    """Labelled concepts, resolved from phrases by embedding similarity.

    >>> concepts = [Concept("ex:Tomato", "tomato", CLASS), Concept("ex:Rose", "rose", CLASS)]
    >>> lexicon = Lexicon.from_concepts(concepts)
    >>> lexicon.resolve("tomatoes", kinds={CLASS}).concept.label
    'tomato'
    """

    concepts: tuple[Concept, ...]
    schema: Schema = field(default_factory=lambda: Schema(superclasses={}, domains={}, ranges={}, types={}))
    embedder: TextEmbedder = field(default_factory=MiniLMEmbedder)
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        self._by_key = {c.key: c for c in self.concepts}
        self._entries = [(c, label) for c in self.concepts for label in c.labels]
        self._vectors: torch.Tensor | None = None

    @classmethod
    def from_concepts(cls, concepts: Iterable[Concept], **kwargs: object) -> Lexicon:
        return cls(concepts=tuple(concepts), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_rdf(
        cls,
        graph: Graph,
        *,
        variables: Mapping[str, Sequence[object]] | None = None,
        phrases: Mapping[str, Sequence[str]] | None = None,
        **kwargs: object,
    ) -> Lexicon:
        """Read every labelled class, property and individual of ``graph``.

        ``variables`` maps SCM variable names to their domains: each variable
        and each of its states (``"Season=winter"``) becomes a concept too, see
        :func:`variable_concepts`; ``phrases`` adds labels to them by key.
        """
        labels: dict[str, list[str]] = {}
        alt: dict[str, list[str]] = {}
        for subject, label in graph.subject_objects(RDFS.label):
            if isinstance(subject, URIRef):
                labels.setdefault(str(subject), []).append(str(label))
        for subject, label in graph.subject_objects(SKOS.altLabel):
            if isinstance(subject, URIRef):
                alt.setdefault(str(subject), []).append(str(label))
        classes = {str(c) for c in graph.subjects(RDF.type, RDFS.Class)}
        classes |= {str(c) for c in graph.subjects(RDFS.subClassOf, None)}
        properties = {str(p) for p in graph.subjects(RDF.type, RDF.Property)}
        direct: dict[str, set[str]] = {c: set() for c in classes}
        for sub, sup in graph.subject_objects(RDFS.subClassOf):
            direct.setdefault(str(sub), set()).add(str(sup))
        superclasses = {c: frozenset(_closure(c, direct)) for c in direct}
        types = {
            str(s): str(o)
            for s, o in graph.subject_objects(RDF.type)
            if str(o) not in {str(RDFS.Class), str(RDF.Property)} and str(o) in classes
        }
        schema = Schema(
            superclasses=superclasses,
            domains={str(p): str(d) for p, d in graph.subject_objects(RDFS.domain) if str(p) in properties},
            ranges={str(p): str(r) for p, r in graph.subject_objects(RDFS.range) if str(p) in properties},
            types=types,
        )
        from mmreason.kg.vocab import MM

        events = {c for c in classes if str(MM.Event) in superclasses.get(c, ()) and c != str(MM.Event)}
        concepts = []
        for iri, names in sorted(labels.items()):
            kind = (
                EVENT
                if iri in events
                else CLASS
                if iri in classes
                else PROPERTY
                if iri in properties
                else types.get(iri)
            )
            if kind is None:
                continue
            concepts.append(Concept(iri, names[0], kind, tuple(names[1:]) + tuple(alt.get(iri, ()))))
        for name, domain in (variables or {}).items():
            concepts.extend(variable_concepts(name, domain, phrases=phrases))
        return cls(concepts=tuple(concepts), schema=schema, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_kg(cls, kg: Any, *, scm: Any, bindings: Any, **kwargs: object) -> Lexicon:
        """The lexicon of a :class:`~mmreason.kg.KnowledgeGraph` (asserted knowledge, not the
        ``predicted`` or image graphs) and of an SCM's variables, exogenous ones included, with
        the extra words of its bindings (either may be None)."""
        from mmreason.kg.vocab import IMAGE_GRAPH, PREDICTED_GRAPH

        graph = Graph()
        for triple in kg.construct(
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
            "FILTER(?g != ?predicted && !STRSTARTS(STR(?g), STR(?image))) }",
            predicted=PREDICTED_GRAPH,
            image=IMAGE_GRAPH,
        ):
            graph.add(triple)
        variables = {}
        if scm is not None:
            variables = {name: scm.domain(name) or () for name in (*scm.variables, *scm.exogenous)}
        phrases = scm_phrases(scm) if scm is not None else {}
        for key, words in (bindings.phrases() if bindings is not None else {}).items():
            phrases[key] = [*phrases.get(key, []), *(w for w in words if w not in phrases.get(key, []))]
        return cls.from_rdf(graph, variables=variables, phrases=phrases, **kwargs)

    def concept(self, key: str) -> Concept:
        return self._by_key[key]

    def get(self, key: str) -> Concept | None:
        """The concept with this key, or None."""
        return self._by_key.get(key)

    def of_kind(self, kind: str) -> tuple[Concept, ...]:
        return tuple(c for c in self.concepts if c.kind == kind)

    def _label_vectors(self) -> torch.Tensor:
        if self._vectors is None:
            self._vectors = self.embedder([label for _, label in self._entries])
        return self._vectors

    def rank(self, phrase: str, *, kinds: Iterable[str] | None = None) -> list[Match]:
        """Every concept of the allowed kinds, best first, scored by its closest label.

        Each match's ``p`` is a softmax of the candidates' similarities at temperature
        :data:`SLOT_TEMPERATURE`: the probability that the phrase means that concept, if it
        means one of them."""
        allowed = None if kinds is None else set(kinds)
        vectors = self._label_vectors()
        if not self._entries:
            return []
        scores = (vectors @ self.embedder([phrase.strip().lower()])[0]).tolist()
        best: dict[str, Match] = {}
        for (concept, _), score in zip(self._entries, scores, strict=True):
            if allowed is not None and not _kind_allowed(concept.kind, allowed):
                continue
            if concept.key not in best or score > best[concept.key].score:
                best[concept.key] = Match(phrase, concept, score)
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.concept.key))
        if not ranked:
            return ranked
        weights = torch.tensor([m.score for m in ranked]).div(SLOT_TEMPERATURE).softmax(dim=0).tolist()
        return [Match(m.phrase, m.concept, m.score, float(w)) for m, w in zip(ranked, weights, strict=True)]

    def resolve(
        self, phrase: str, *, kinds: Iterable[str] | None = None, threshold: float | None = None
    ) -> Match | None:
        """The concept ``phrase`` names, or None when nothing is similar enough."""
        ranked = self.rank(phrase, kinds=kinds)
        if ranked and ranked[0].score >= (self.threshold if threshold is None else threshold):
            return ranked[0]
        return None


_RDFS_CLASS = str(RDFS.Class)


def _in_range(kind: str | None, range_iri: str) -> bool:
    return kind is not None and (kind == range_iri or (kind == CLASS and range_iri == _RDFS_CLASS))


def _kind_allowed(kind: str, allowed: set[str]) -> bool:
    return kind in allowed or ("value:*" in allowed and kind.startswith("value:"))


def _closure(cls: str, direct: Mapping[str, set[str]]) -> set[str]:
    seen = {cls}
    stack = [cls]
    while stack:
        for sup in direct.get(stack.pop(), ()):
            if sup not in seen:
                seen.add(sup)
                stack.append(sup)
    return seen
