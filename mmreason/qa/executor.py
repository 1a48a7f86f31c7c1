"""Program -> answer: run a parsed question over a grounded scene, the KG and an SCM.

Perception facts come from the grounded scene with their CLIP probabilities,
keyed by the IRIs of the world's ontology; class membership
(``rdfs:subClassOf`` closure), facts about classes and conditional rules
(``mm:Rule``) come from SPARQL queries on the knowledge graph, with values
bound; causal questions go to the SCM with the image's facts as evidence. A
property the image does not show, but a variable of the SCM stands for, is
inferred by the SCM. Each answer's confidence is the probability, under the
model's probabilities taken as independent, that its value is right; each
step behind it is recorded. Questions about a class or a causal model need no
image (``scene=None``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import networkx as nx
from rdflib import XSD, URIRef

from mmreason.answer import Answer, Step
from mmreason.errors import ImageError, ImpossibleEvidenceError, InvalidInputError
from mmreason.kg.vocab import MM, PREDICTED_GRAPH
from mmreason.limits import quote
from mmreason.qa.evidence import SceneEvidence, relation_probability, scene_evidence
from mmreason.scenarios import describe
from mmreason.vision.vocabulary import local_name

if TYPE_CHECKING:
    from mmreason.causal.bindings import Bindings
    from mmreason.causal.scm import SCM
    from mmreason.kg.graph import KnowledgeGraph
    from mmreason.qa.program import Op, Program
    from mmreason.vision.grounding import Attribute, GroundedObject, SceneEvent, SceneGraph
    from mmreason.vision.vocabulary import Vocabulary

__all__ = ["Executor"]

# Knowledge comes from every graph but the predicted one and the images': a GNN's guesses
# never pass for asserted facts.
_ASSERTED = "FILTER(?g != ?predicted && !STRSTARTS(STR(?g), STR(?image)))"
_SUBCLASSES = "SELECT ?sub WHERE { GRAPH ?g { ?sub rdfs:subClassOf* ?cls } " + _ASSERTED + " }"
_SUPERCLASSES = "SELECT ?sup WHERE { GRAPH ?g { ?cls rdfs:subClassOf ?sup } " + _ASSERTED + " }"
_LABEL = "SELECT ?label WHERE { ?x rdfs:label ?label }"
_DOMAIN_RANGE = (
    "SELECT ?domain ?range WHERE { OPTIONAL { ?p rdfs:domain ?domain } OPTIONAL { ?p rdfs:range ?range } }"
)
_UNIT = "SELECT ?unit WHERE { ?p mm:unit ?unit }"
# A fact about a class, or a class above it: "a tomato needs water" from "every plant needs water".
_CLASS_FACT = "SELECT ?c WHERE { GRAPH ?g { ?cls rdfs:subClassOf* ?c . ?c ?p ?v } " + _ASSERTED + " }"
# Conditional rules: when a condition holds, members of a class have the property's value.
_RULES = (
    "SELECT ?rule ?label ?applies ?when WHERE { GRAPH ?g { "
    "?rule mm:appliesTo ?applies ; mm:when ?when ; ?p ?v . "
    "OPTIONAL { ?rule rdfs:label ?label } } " + _ASSERTED + " }"
)
_CONDITIONS = (
    "SELECT DISTINCT ?when WHERE { GRAPH ?g { ?rule mm:appliesTo ?c ; mm:when ?when } " + _ASSERTED + " }"
)
_TYPES = "SELECT ?type WHERE { ?x a ?type }"
_FOLLOW = "SELECT ?v WHERE { GRAPH ?g { ?x ?p ?v } " + _ASSERTED + " }"
# What a GNN predicted a state leads to, with its calibrated score (see mmreason.gnn.complete).
_PREDICTED_FACT = """
SELECT ?score ?model WHERE {
  GRAPH ?predicted {
    ?st rdf:subject ?state ; rdf:predicate ?p ; rdf:object ?v ; mm:confidence ?score .
    OPTIONAL { ?st <http://www.w3.org/ns/prov#wasGeneratedBy> ?model }
  }
}"""
_ENGINE_NAMESPACES = (
    str(MM),
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
)
# Questions answered from the knowledge graph alone, whatever the picture.
_KNOWLEDGE_ONLY = ("subclass", "superclass")
#: How sure "the clip does not show it" is when a clip read end to end has no such event: its
#: readers find the events they know at about this rate (docs/video.md), so a miss is possible.
ABSENT_EVENT_CONFIDENCE = 0.95
_NUMERIC = {str(XSD.double), str(XSD.float), str(XSD.decimal), str(XSD.integer)}


@dataclass(frozen=True, slots=True)
class _Member:
    obj: GroundedObject
    p: float  # probability that this object belongs to the selection


def _certainty(p: float) -> float:
    return max(p, 1.0 - p)


Result = tuple[Any, float, str, "str | None"]


class Executor:
    """Runs programs for one KG, and optionally one SCM with its bindings and one world's vocabulary.

    ``focus`` = ``("least" | "most", measured property)`` picks "the tomato" of a question among
    several (the world's manifest ``vision.focus``); without it, the likeliest one.
    """

    def __init__(
        self,
        *,
        kg: KnowledgeGraph,
        scm: SCM | None = None,
        bindings: Bindings | None = None,
        vocabulary: Vocabulary | None = None,
        focus: tuple[str, str] | None = None,
        samples: int = 2000,
        seed: int = 0,
    ):
        self.kg = kg
        self.scm = scm
        self.bindings = bindings
        self.vocabulary = vocabulary
        self.focus = focus
        self.samples = samples
        self.seed = seed
        self._subclasses: dict[str, frozenset[str]] = {}
        self._superclasses: dict[str, tuple[str, ...]] = {}
        self._labels: dict[str, str] = {}
        self._signatures: dict[str, tuple[str | None, str | None]] = {}
        self._units: dict[str, str] = {}
        self._condition_kinds: frozenset[str] | None = None
        self._type_cache: dict[str, frozenset[str]] = {}
        # Per run (see run()): the objects an earlier turn was about, and those this answer is about.
        self._referents: tuple[str, ...] = ()
        self._moment: SceneEvent | None = None  # the event an "at" op measures at, in a clip
        self._about: list[str] = []

    # ------------------------------------------------------------------ KG helpers

    def _query(self, sparql: str, **bindings: Any) -> list[Any]:
        from mmreason.kg.vocab import IMAGE_GRAPH

        return self.kg.query(sparql, predicted=PREDICTED_GRAPH, image=IMAGE_GRAPH, **bindings)

    def subclasses(self, cls: str, steps: list[Step] | None = None) -> frozenset[str]:
        """``cls`` and every class below it, by a SPARQL property path (cached)."""
        if cls not in self._subclasses:
            rows = self._query(_SUBCLASSES, cls=URIRef(cls))
            self._subclasses[cls] = frozenset(str(r["sub"]) for r in rows) | {cls}
        if steps is not None:
            steps.append(
                Step(
                    "sparql",
                    f"{_SUBCLASSES} with ?cls = {self.label(cls)} -> "
                    + ", ".join(sorted(self.label(c) for c in self._subclasses[cls])),
                )
            )
        return self._subclasses[cls]

    def superclasses(self, cls: str) -> tuple[str, ...]:
        """The classes right above ``cls`` (asserted), sorted."""
        if cls not in self._superclasses:
            rows = self._query(_SUPERCLASSES, cls=URIRef(cls))
            self._superclasses[cls] = tuple(sorted({str(r["sup"]) for r in rows} - {cls}))
        return self._superclasses[cls]

    def ancestors(self, cls: str) -> list[str]:
        """``cls`` and every class above it, nearest first."""
        seen, queue = [cls], [cls]
        while queue:
            for sup in self.superclasses(queue.pop(0)):
                if sup not in seen:
                    seen.append(sup)
                    queue.append(sup)
        return seen

    def label(self, iri: str) -> str:
        if iri not in self._labels:
            rows = self.kg.query(_LABEL, x=URIRef(iri))
            self._labels[iri] = str(rows[0]["label"]) if rows else local_name(iri)
        return self._labels[iri]

    def _signature(self, prop: str) -> tuple[str | None, str | None]:
        """(rdfs:domain, rdfs:range) of a property."""
        if prop not in self._signatures:
            rows = self.kg.query(_DOMAIN_RANGE, p=URIRef(prop))
            row = rows[0] if rows else {}
            self._signatures[prop] = tuple(  # type: ignore[assignment]
                None if row.get(k) is None else str(row[k]) for k in ("domain", "range")
            )
        return self._signatures[prop]

    def unit(self, prop: str) -> str:
        """The ``mm:unit`` of a measured property ("" when the ontology gives none)."""
        if prop not in self._units:
            rows = self.kg.query(_UNIT, p=URIRef(prop))
            self._units[prop] = str(rows[0]["unit"]) if rows else ""
        return self._units[prop]

    def evidence(self, scene: SceneGraph | None) -> SceneEvidence:
        """The evidence a scene gives the SCM through the bindings (none without a scene or bindings)."""
        if scene is None or self.bindings is None or self.scm is None:
            return SceneEvidence({}, {}, ())
        bounds = {name: self.scm.spec.variables[name].bounds for name in self.scm.variables}
        units = {
            str(b.source.property): self.unit(str(b.source.property))
            for b in self.bindings.variables.values()
            if b.source is not None
        }
        return scene_evidence(scene, self.bindings, subclasses=self.subclasses, bounds=bounds, units=units)

    # ------------------------------------------------------------------ running

    def run(
        self,
        program: Program,
        scene: SceneGraph | None,
        *,
        steps: Iterable[Step] = (),
        referents: Sequence[str] = (),
    ) -> Answer:
        """Answer ``program`` on ``scene`` (None: no image); ``steps`` (grounding, parsing) go first.

        ``referents`` are the ids of the objects an earlier turn was about: a selection of their
        class keeps only them ("what colour is *it*?"). The answer's ``about`` names the objects
        it is about. One run at a time (a :class:`~mmreason.Reasoner` serialises them).
        """
        trail = list(steps)
        self._referents = tuple(referents)
        self._about = []
        self._moment = None
        value, confidence, text, unit = self._run(program, scene, trail)
        # A parse that is unsure makes the answer as unsure: the reading itself may be wrong.
        confidence = min(float(confidence), program.confidence)
        if scene is not None and scene.reliability < 1.0 and program.ops[0].name not in _KNOWLEDGE_ONLY:
            # A picture unlike those the model learned from: what it read is worth that much less.
            trail.append(
                Step("ground", "the picture is out of range: " + "; ".join(scene.warnings), scene.reliability)
            )
            confidence *= scene.reliability
            if scene.reliability == 0.0:
                value, unit = None, None
                text = "cannot tell: " + "; ".join(scene.warnings)
        return Answer(
            question=program.question,
            value=value,
            confidence=float(min(1.0, max(0.0, confidence))),
            steps=tuple(trail),
            text=text,
            family=program.family,
            unit=unit,
            about=tuple(self._about),
        )

    def _run(self, program: Program, scene: SceneGraph | None, trail: list[Step]) -> Result:
        ops = list(program.ops)
        head = ops[0]
        if head.name in ("explain", "causes", "do", "counterfactual", "observe"):
            try:
                return getattr(self, f"_causal_{head.name}")(head, scene, trail)
            except ImpossibleEvidenceError as error:
                # What the picture shows, the model says cannot happen: it has no answer to give.
                trail.append(Step("causal", f"the model cannot explain what the picture shows: {error}", 0.0))
                return (
                    None,
                    0.0,
                    f"cannot tell: the causal model rules out what the picture shows ({error})",
                    None,
                )
        if head.name == "subclass":
            return self._subclass(head, trail)
        if head.name == "superclass":
            return self._superclass(head, trail)
        if head.name == "when":
            return self._when(head, scene, trail)
        cls = head.args["cls"]
        final = ops[-1]
        if final.name == "rule":
            return self._rule(cls, ops[1:-1], final, scene, program.question, trail)
        if cls == str(MM.Scene) or not self._countable(cls):
            return self._scene_op(cls, final, scene, program.question, trail)
        scene = self._need(scene, program.question)
        members = self._select(cls, scene, trail)
        for op in ops[1:-1]:
            if op.name == "at":
                found = self._event(op.args["event"], scene, trail)
                if isinstance(found, tuple):
                    return found  # a still, or a clip without the event: nothing to measure at
                self._moment = found
            elif op.name == "closest":
                members = self._closest(op, members, trail)
            else:
                members = self._narrow(op, members, scene, trail)
        noun = self.label(cls)
        self._about = [m.obj.id for m in self._likely(members)]
        return getattr(self, f"_final_{final.name}")(final, members, noun, scene, trail)

    @staticmethod
    def _need(scene: SceneGraph | None, question: str) -> SceneGraph:
        if scene is None:
            raise ImageError(f"{quote(question)} asks about an image, and none was given")
        return scene

    def _countable(self, cls: str) -> bool:
        """Whether objects of ``cls`` can be found in an image of this world."""
        vocab = self.vocabulary
        if vocab is None:
            return False
        return any(vocab.is_a(t.iri, cls) for t in vocab.types if not vocab.is_background(t))

    # ------------------------------------------------------------- object sets

    def _select(self, cls: str, scene: SceneGraph, trail: list[Step]) -> list[_Member]:
        classes = self.subclasses(cls, trail)
        members = [_Member(o, o.type.probability(classes)) for o in scene.objects]
        members = [m for m in members if m.p > 0.0]
        referents = self._referents
        kept = [m for m in members if m.obj.id in referents]
        if kept:
            trail.append(
                _members_step(
                    f"the {self.label(cls)} the conversation is about ({', '.join(referents)})", kept
                )
            )
            return kept
        trail.append(_members_step(f"object(s) that may be a {self.label(cls)}", members))
        return members

    def _narrow(self, op: Op, members: list[_Member], scene: SceneGraph, trail: list[Step]) -> list[_Member]:
        if op.name == "filter":
            value, prop = op.args["value"], op.args["prop"]
            narrowed = []
            for m in members:
                attribute = m.obj.attribute(prop) if prop else None
                narrowed.append(_Member(m.obj, m.p * (attribute.probability({value}) if attribute else 0.0)))
            what = self.label(value)
        else:  # "on": objects in a relation, to a region or another object
            prop = op.args["prop"]
            narrowed = [_Member(m.obj, m.p * relation_probability(scene, m.obj, prop)) for m in members]
            what = self.label(prop)
        narrowed = [m for m in narrowed if m.p > 0.0]
        trail.append(_members_step(f"of them {what}", narrowed))
        return narrowed

    def _likely(self, members: list[_Member]) -> list[_Member]:
        return [m for m in members if m.p >= 0.5]

    def _the_one(self, members: list[_Member]) -> _Member:
        """ "The tomato" of a question: by the world's focus (the one with the least or most of a
        measured property) when it measures several, else the likeliest."""
        if self.focus is not None:
            order, prop = self.focus
            measured = [m for m in members if m.obj.measure(prop) is not None]
            if measured:
                sign = 1.0 if order == "least" else -1.0
                one = min(measured, key=lambda m: (sign * float(m.obj.measure(prop)), -m.p))  # type: ignore[arg-type]
                self._about = [one.obj.id]
                return one
        one = max(members, key=lambda m: m.p)
        self._about = [one.obj.id]
        return one

    def _describe(self, obj: GroundedObject) -> str:
        """An object in words: its first attribute's value, then its type ("red tomato")."""
        first = next(
            (obj.attribute(p) for p in self._attribute_order() if obj.attribute(p) is not None), None
        )
        return f"{first.value} {obj.type.value}" if first is not None else obj.type.value

    def _attribute_order(self) -> tuple[str, ...]:
        return self.vocabulary.object_attributes if self.vocabulary is not None else ()

    def _final_count(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        count = sum(1 for m in members if m.p >= 0.5)
        confidence = 1.0
        for m in members:
            confidence *= _certainty(m.p)
        return count, confidence, str(count), None

    def _final_exist(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        present = 1.0 - _absent(members)
        return present >= 0.5, _certainty(present), "yes" if present >= 0.5 else "no", None

    def _final_query(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        likely = self._likely(members)
        if not likely:
            return None, _absent(members), f"there is no {noun} in the image", None
        prop = op.args["prop"]
        what = self.label(prop)
        measured = [m for m in likely if m.obj.measure(prop) is not None]
        if measured or self._is_measure(prop):
            if not measured:
                return None, 0.0, f"cannot tell: the image shows no {noun} with a {what} it can measure", None
            one = self._the_one(measured)
            unit = self.unit(prop) or None
            if self._moment is not None:
                return self._measure_at(one, prop, scene, trail)
            reading = round(float(one.obj.measure(prop)), 2)  # type: ignore[arg-type]
            trail.append(
                Step(
                    "scene", f"{one.obj.id}: {what} {reading:.2f} {unit or ''}, measured off the image", one.p
                )
            )
            return reading, one.p, f"{reading:.1f}{' ' + unit if unit else ''}", unit

        def read_attribute(m: _Member) -> tuple[Attribute, float] | None:
            attribute = m.obj.attribute(prop)
            return None if attribute is None else (attribute, m.p * attribute.confidence)

        return self._per_object(likely, noun, what, read_attribute, trail)

    def _final_type(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        """The class each object is read as: "what kind of <noun> is it?"."""
        likely = self._likely(members)
        if not likely:
            return None, _absent(members), f"there is no {noun} in the image", None
        return self._per_object(likely, noun, "kind", lambda m: (m.obj.type, m.obj.type.confidence), trail)

    def _per_object(
        self,
        likely: list[_Member],
        noun: str,
        what: str,
        read: Callable[[_Member], tuple[Attribute, float] | None],
        trail: list[Step],
    ) -> Result:
        """One reading per object, left to right (``read``: the attribute and how sure it is, or
        None when the object has none): one value, or a tuple of them; as sure as all of them."""
        values = []
        confidence = 1.0
        for m in sorted(likely, key=lambda m: m.obj.bbox[0]):
            found = read(m)
            if found is None:
                continue
            attribute, p = found
            values.append(attribute.value)
            confidence *= p
            trail.append(_attribute_step(m.obj.id, what, attribute))
        if not values:
            return None, 0.0, f"cannot tell: the image does not show the {what} of the {noun}", None
        value = values[0] if len(values) == 1 else tuple(values)
        text = values[0] if len(values) == 1 else " and ".join(values) + f" ({len(values)} {noun}s)"
        return value, confidence, text, None

    def _event(self, cls: str, scene: SceneGraph | None, trail: list[Step]) -> SceneEvent | Result:
        """The clip's first event of class ``cls``; a Result that says why when there is none."""
        label = self.label(cls)
        if scene is None or scene.duration is None:
            text = f"cannot tell: {label} happens over time, and a still picture shows one instant"
            return None, 0.0, text + "; ask it of a clip", None
        classes = self.subclasses(cls)
        found = sorted((e for e in scene.events if e.cls in classes), key=lambda e: e.time)
        listed = ", ".join(f"{self.label(e.cls)} at {e.time:.2f} s (p={e.confidence:.2f})" for e in found)
        trail.append(Step("scene", f"events of the clip that are {label}: {listed or 'none'}"))
        if not found:
            return None, 0.0, f"not in the clip ({scene.duration:.1f} s): {label}", None
        return found[0]

    def _when(self, op: Op, scene: SceneGraph | None, trail: list[Step]) -> Result:
        found = self._event(op.args["event"], scene, trail)
        if isinstance(found, tuple):
            return found
        self._about = [found.subject] if found.subject else []
        return round(found.time, 2), found.confidence, f"at {found.time:.2f} s", "s"

    def _measure_at(self, one: _Member, prop: str, scene: SceneGraph, trail: list[Step]) -> Result:
        """``prop`` of the object at the moment an earlier ``at`` op found (one frame's leeway)."""
        assert self._moment is not None
        at = self._moment.time
        what, unit = self.label(prop), self.unit(prop) or None
        within = 1.0 / scene.fps if scene.fps else 0.0
        value = one.obj.measure_at(prop, at, within=within + 1e-9)
        if value is None:
            text = f"cannot tell: the clip does not measure the {what} of {one.obj.id}"
            return None, 0.0, f"{text} at {at:.2f} s", None
        reading = round(float(value), 2)
        detail = f"{one.obj.id}: {what} {reading:.2f} {unit or ''} at {at:.2f} s, off the clip"
        trail.append(Step("scene", detail, one.p))
        # As sure as the object's reading and the moment's event are.
        return reading, one.p * self._moment.confidence, f"{reading:.1f}{' ' + unit if unit else ''}", unit

    def _is_measure(self, prop: str) -> bool:
        return self._signature(prop)[1] in _NUMERIC

    def _closest(self, op: Op, members: list[_Member], trail: list[Step]) -> list[_Member]:
        prop = op.args["prop"]
        measured = [m for m in members if m.p >= 0.5 and m.obj.measure(prop) is not None]
        if not measured:
            return []
        pick = min if op.args["order"] == "min" else max
        best = pick(measured, key=lambda m: m.obj.measure(prop))
        self._about = [best.obj.id]
        unit = self.unit(prop)
        trail.append(
            Step(
                "scene",
                f"{self.label(prop)}: "
                + ", ".join(
                    f"{m.obj.id} {m.obj.measure(prop):.2f}{' ' + unit if unit else ''}" for m in measured
                )
                + f" -> {best.obj.id}",
                best.p,
            )
        )
        return [best]

    def _final_verify(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        likely = self._likely(members)
        if not likely:
            return None, _absent(members), f"there is no {noun} in the image", None
        prop = op.args["prop"]
        read = [m for m in likely if prop and m.obj.attribute(prop) is not None]
        if not read:
            what = self.label(prop) if prop else "property"
            return None, 0.0, f"cannot tell: the image does not show the {what} of the {noun}", None
        m = self._the_one(read)
        attribute = m.obj.attribute(prop)
        assert attribute is not None
        p = attribute.probability({op.args["value"]})
        trail.append(_attribute_step(m.obj.id, self.label(prop), attribute))
        yes = (p >= 0.5) != bool(op.args.get("negate"))
        return yes, m.p * _certainty(p), "yes" if yes else "no", None

    def _final_closest(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        found = self._closest(op, self._likely(members), trail)
        if not found:
            return (
                None,
                0.0,
                f"cannot tell: no {noun} has a {self.label(op.args['prop'])} the image shows",
                None,
            )
        best = found[0]
        first = next((best.obj.attribute(p) for p in self._attribute_order() if best.obj.attribute(p)), None)
        confidence = best.p * (first.confidence if first is not None else 1.0)
        described = self._describe(best.obj)
        return described, confidence, f"the {described}", None

    def _final_relate(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        likely = self._likely(members)
        if not likely:
            return None, _absent(members), f"there is no {noun} in the image", None
        anchor = max(likely, key=lambda m: m.p)
        if op.args["find"] == "subject":  # X leftOf anchor
            found = [o for o in scene.objects if o is not anchor.obj and o.bbox[2] <= anchor.obj.bbox[0]]
            where = "left of"
        else:
            found = [o for o in scene.objects if o is not anchor.obj and anchor.obj.bbox[2] <= o.bbox[0]]
            where = "right of"
        found.sort(key=lambda o: o.bbox[0])
        self._about = [o.id for o in found]
        trail.append(
            Step(
                "scene",
                f"objects {where} {anchor.obj.id} (boxes): " + (", ".join(o.id for o in found) or "none"),
                anchor.p,
            )
        )
        confidence = anchor.p
        for o in found:
            confidence *= o.type.confidence
        described = tuple(self._describe(o) for o in found)
        return described, confidence, ", ".join(described) or "nothing", None

    def _final_follow(
        self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]
    ) -> Result:
        likely = self._likely(members)
        if not likely:
            return None, _absent(members), f"there is no {noun} in the image", None
        one = self._the_one(likely)
        return self._follow(op, one.obj.attributes, scene, trail, p_subject=one.p)

    # --------------------------------------------------------------- knowledge

    def _subclass(self, op: Op, trail: list[Step]) -> Result:
        cls, of = op.args["cls"], op.args["of"]
        below = self.subclasses(of)
        trail.append(Step("sparql", f"{_SUBCLASSES} with ?cls = {self.label(of)} -> {len(below)} classes"))
        if cls in below:
            chain = self._chain(cls, of)
            text = "yes: " + ", ".join(f"a {self.label(a)} is a {self.label(b)}" for a, b in pairwise(chain))
            return True, 1.0, text, None
        above = self.superclasses(cls)
        said = ", ".join(self.label(c) for c in above) or "nothing above it"
        return False, 1.0, f"no: the knowledge graph says a {self.label(cls)} is a {said}", None

    def _chain(self, cls: str, of: str) -> list[str]:
        """The path of rdfs:subClassOf edges from ``cls`` up to ``of`` (breadth first)."""
        paths = {cls: [cls]}
        queue = [cls]
        while queue:
            current = queue.pop(0)
            if current == of:
                return paths[current]
            for sup in self.superclasses(current):
                if sup not in paths:
                    paths[sup] = [*paths[current], sup]
                    queue.append(sup)
        return [cls, of]

    def _superclass(self, op: Op, trail: list[Step]) -> Result:
        cls = op.args["cls"]
        above = self.superclasses(cls)
        trail.append(Step("sparql", f"{_SUPERCLASSES} with ?cls = {self.label(cls)} -> {len(above)} classes"))
        if not above:
            return None, 1.0, f"the knowledge graph names no class above {self.label(cls)}", None
        labels = tuple(self.label(c) for c in above)
        value = labels[0] if len(labels) == 1 else labels
        return value, 1.0, f"a {self.label(cls)} is a " + " and a ".join(labels), None

    def _rule(
        self,
        cls: str,
        narrowing: list[Op],
        op: Op,
        scene: SceneGraph | None,
        question: str,
        trail: list[Step],
    ) -> Result:
        """Whether (objects of) ``cls`` have ``prop value``: by a fact about the class or one above it,
        or by a rule (``mm:Rule``) whose condition the image shows."""
        prop, value = op.args["prop"], op.args["value"]
        subject, p_subject = cls, 1.0
        if scene is not None and self._countable(cls):
            members = self._select(cls, scene, trail)
            for narrow in narrowing:
                members = self._narrow(narrow, members, scene, trail)
            likely = self._likely(members)
            if not likely:
                return None, _absent(members), f"there is no {self.label(cls)} in the image", None
            # A rule binds a class; the image only says which conditions hold.
            subject = self._the_one(likely).obj.type.concept.iri
        asked = f"{self.label(subject)} {self.label(prop)} {self.label(value)}"
        rows = self._query(_CLASS_FACT, cls=URIRef(subject), p=URIRef(prop), v=URIRef(value))
        trail.append(
            Step(
                "sparql",
                f"facts: does a {asked}? -> " + (", ".join(self.label(str(r["c"])) for r in rows) or "none"),
            )
        )
        if rows:
            holder = self.label(str(rows[0]["c"]))
            return True, p_subject, f"yes: a {holder} {self.label(prop)} {self.label(value)}", None
        above = set(self.ancestors(subject))
        rules = [
            r for r in self._query(_RULES, p=URIRef(prop), v=URIRef(value)) if str(r["applies"]) in above
        ]
        if scene is None:
            if not rules:
                return False, 1.0, f"no: nothing in the knowledge graph says a {asked}", None
            when = "; ".join(
                f"{_rule_name(self, r)} (when: {self._condition_words(str(r['when']))})" for r in rules
            )
            return None, 1.0, f"it depends on what the image shows: {when}", None
        # Only what some rule can be conditioned on: a tomato's colour is no condition.
        conditions = {s: p for s, p in self._conditions(scene).items() if self._is_condition(s)}
        required, p_required = [], 0.0
        for state, p_state in conditions.items():
            held = [r for r in rules if str(r["when"]) == state]
            trail.append(
                Step(
                    "sparql",
                    f"rules: {self.label(state)} (p={p_state:.3f}) -> a {asked}? "
                    + (", ".join(_rule_name(self, r) for r in held) or "none"),
                    p_state,
                )
            )
            if held:
                required.append(_rule_name(self, held[0]))
                p_required = 1.0 - (1.0 - p_required) * (1.0 - p_state)
                continue
            # The asserted rules are silent: a fact a GNN predicted may speak, at its calibrated score.
            predicted = self._query(_PREDICTED_FACT, state=URIRef(state), p=URIRef(prop), v=URIRef(value))
            if predicted:
                best = max(predicted, key=lambda r: float(r["score"]))
                p_gnn = float(best["score"])
                model = local_name(str(best["model"])) if best.get("model") is not None else "a GNN"
                trail.append(
                    Step(
                        "gnn",
                        f"predicted {local_name(state)} {local_name(prop)} {local_name(value)} "
                        f"(score {p_gnn:.3f}, {model})",
                        p_gnn,
                    )
                )
                if p_gnn >= 0.5:
                    required.append(
                        f"{self.label(state)} {self.label(prop)} {self.label(value)} "
                        f"(predicted, score {p_gnn:.2f})"
                    )
                    p_required = 1.0 - (1.0 - p_required) * (1.0 - p_state * p_gnn)
        if required:
            return True, p_subject * p_required, "yes: " + "; ".join(required), None
        # Nothing observed brings the rule about: as sure as the observed states are.
        confidence = p_subject
        for p_state in conditions.values():
            confidence *= p_state
        return False, confidence, "no rule requires it here", None

    def _conditions(self, scene: SceneGraph) -> dict[str, float]:
        """What the image shows that a rule may be conditioned on: each read value (its best reading
        and probability) and each relation that holds, by IRI."""
        found: dict[str, float] = {}

        def add(iri: str, p: float) -> None:
            found[iri] = max(found.get(iri, 0.0), p)

        for attribute in scene.attributes.values():
            add(attribute.concept.iri, attribute.confidence)
        for obj in scene.objects:
            if obj.type.confidence < 0.5:
                continue
            for attribute in obj.attributes.values():
                add(attribute.concept.iri, obj.type.confidence * attribute.confidence)
        for relation in scene.relations:
            subject = scene.object(relation.subject)
            if subject is not None:
                add(relation.property, subject.type.confidence * relation.confidence)
        return found

    def _condition_words(self, iri: str) -> str:
        """A rule's condition in words: its label, and its class's ("winter, a season")."""
        kind = next((self.label(t) for t in sorted(self._types(iri))), None)
        return f"{self.label(iri)}, a {kind}" if kind else self.label(iri)

    def _is_condition(self, iri: str) -> bool:
        """Whether ``iri`` (or its class) is what some asserted rule is conditioned on (cached)."""
        if self._condition_kinds is None:
            whens = {str(r["when"]) for r in self._query(_CONDITIONS)}
            kinds = set(whens)
            for when in whens:
                kinds |= self._types(when)
            self._condition_kinds = frozenset(kinds)
        return iri in self._condition_kinds or bool(self._types(iri) & self._condition_kinds)

    def _types(self, iri: str) -> frozenset[str]:
        """The world's classes ``iri`` is an instance of (the engine's own left out), cached."""
        if iri not in self._type_cache:
            rows = self.kg.query(_TYPES, x=URIRef(iri))
            self._type_cache[iri] = frozenset(
                str(r["type"]) for r in rows if not str(r["type"]).startswith(_ENGINE_NAMESPACES)
            )
        return self._type_cache[iri]

    # ---------------------------------------------------------- scene attributes

    def _scene_op(
        self, cls: str, op: Op, scene: SceneGraph | None, question: str, trail: list[Step]
    ) -> Result:
        if op.name in ("count", "exist"):
            return self._regions(cls, op, self._need(scene, question), trail)
        if op.name == "follow":
            attributes = dict(self._need(scene, question).attributes)
            return self._follow(op, attributes, scene, trail, p_subject=1.0)
        if op.name not in ("query", "verify"):
            raise InvalidInputError(
                f"{self.label(cls)} is not something the images of this world count or place"
            )
        prop = op.args.get("prop")
        attribute = scene.attribute(prop) if scene is not None and prop else None
        if attribute is None:
            return self._infer_property(op, scene, question, trail)
        trail.append(_attribute_step("scene", self.label(prop), attribute))
        if op.name == "query":
            return attribute.value, attribute.confidence, attribute.value, None
        p = attribute.probability({op.args["value"]})
        yes = (p >= 0.5) != bool(op.args.get("negate"))
        return yes, _certainty(p), "yes" if yes else "no", None

    def _regions(self, cls: str, op: Op, scene: SceneGraph, trail: list[Step]) -> Result:
        classes = self.subclasses(cls)
        found = [r for r in scene.regions if r.cls in classes]
        trail.append(
            Step(
                "scene",
                f"regions that are a {self.label(cls)}: " + (", ".join(r.id for r in found) or "none"),
            )
        )
        if op.name == "count":
            return len(found), 1.0, str(len(found)), None
        return bool(found), 1.0, "yes" if found else "no", None

    def _infer_property(self, op: Op, scene: SceneGraph | None, question: str, trail: list[Step]) -> Result:
        """A property the image does not show: inferred by the SCM variable bound to it, if any."""
        prop = op.args["prop"]
        what = self.label(prop)
        binding = None
        if self.bindings is not None and self.scm is not None:
            binding = next(
                (
                    b
                    for b in self.bindings.variables.values()
                    if b.source is not None
                    and b.source.kind == "scene"
                    and str(b.source.property) == prop
                    and b.values
                ),
                None,
            )
        if binding is None:
            if scene is None:
                raise ImageError(f"{quote(question)} asks what an image shows, and none was given")
            return (
                None,
                0.0,
                f"cannot tell: the image does not show the {what}, and no causal variable stands for it",
                None,
            )
        seen = self._causal_inputs(scene, trail)
        dist = self._ask_scm(binding.variable, seen)
        trail.append(Step("causal", f"{dist.query}: {describe(dist)} (the {what} is not read off the image)"))
        by_value = {str(v): str(iri) for v, iri in binding.values.items()}
        if op.name == "query":
            ranked = sorted(dist.items(), key=lambda kv: -kv[1])
            labels = [self.label(by_value[str(v)]) if str(v) in by_value else str(v) for v, _ in ranked]
            p = float(ranked[0][1])
            if len(ranked) > 1 and abs(p - float(ranked[1][1])) < 1e-9:
                tied = " and ".join(labels[:2])
                text = f"cannot tell: {tied} are as likely (P={p:.2f} each), by the causal model"
                return None, 0.0, text, None
            return labels[0], p, f"most likely {labels[0]} (P={p:.2f}), inferred by the causal model", None
        wanted = op.args["value"]
        p = sum(float(q) for v, q in dist.items() if by_value.get(str(v)) == wanted)
        value, confidence, text, _ = _yes_no(p if not op.args.get("negate") else 1.0 - p)
        return value, confidence, text.replace(")", ", inferred by the causal model)"), None

    def _follow(
        self,
        op: Op,
        attributes: Mapping[str, Attribute],
        scene: SceneGraph | None,
        trail: list[Step],
        *,
        p_subject: float,
    ) -> Result:
        """``prop`` of the value an attribute holds: "is the path slippery" from the path's surface."""
        prop = op.args["prop"]
        domain, _ = self._signature(prop)
        source = next(
            (a for p, a in attributes.items() if domain is None or self._signature(p)[1] == domain), None
        )
        if source is None:
            return None, 0.0, f"cannot tell: the image shows nothing that is {self.label(prop)} or not", None
        trail.append(_attribute_step("scene" if scene is not None else "", self.label(prop), source))
        rows = self._query(_FOLLOW, x=URIRef(source.concept.iri), p=URIRef(prop))
        trail.append(
            Step(
                "sparql",
                f"{self.label(source.concept.iri)} {self.label(prop)}? -> "
                + ", ".join(str(r["v"]) for r in rows),
            )
        )
        if not rows:
            return None, source.confidence * p_subject, "the knowledge graph does not say", None
        truth = bool(rows[0]["v"]) != bool(op.args.get("negate"))
        return truth, source.confidence * p_subject, "yes" if truth else "no", None

    # ------------------------------------------------------------------ causal

    def _need_scm(self) -> SCM:
        if self.scm is None:
            raise InvalidInputError("this world has no causal model, so it answers no causal question")
        return self.scm

    def _causal_inputs(self, scene: SceneGraph | None, trail: list[Step]) -> SceneEvidence:
        found = self.evidence(scene)
        trail.extend(found.steps)
        ids = list(found.objects)
        if self.focus is not None and scene is not None:
            # The object the question is about is the world's focus among those read.
            prop = self.focus[1]
            ids = [o.id for o in scene.objects if o.id in ids and o.measure(prop) is not None] or ids
        self._about = ids
        return found

    def _causal_explain(self, op: Op, scene: SceneGraph | None, trail: list[Step]) -> Result:
        scm = self._need_scm()
        variable = op.args["variable"]
        value = _coerce(scm, variable, op.args["value"])
        seen = self._causal_inputs(scene, trail)
        if op.args.get("do") or op.args.get("shift"):
            base = dict(op.args.get("base") or {})
            do = {k: _coerce(scm, k, v) for k, v in dict(op.args.get("do") or {}).items()}
            missing = _shifted(do, op.args.get("shift"), seen, trail, scm)
            if missing is not None:
                return None, 0.0, missing, None
            return self._explain_counterfactual(variable, value, do, seen, trail, base=base)
        # The question presupposes variable=value; first ask whether the image bears that out.
        _, refusal = self._presupposed(variable, value, seen, scene, trail)
        if refusal is not None:
            return refusal
        others = SceneEvidence(
            {k: v for k, v in seen.evidence.items() if k != variable},
            {k: v for k, v in seen.soft_evidence.items() if k != variable},
            (),
        )
        observed = SceneEvidence({**others.evidence, variable: value}, others.soft_evidence, ())
        # Abduction over the causes: which cause's state does observing variable=value make more likely
        # than the same other evidence alone does?
        ranked: list[tuple[float, float, float, str, Any]] = []
        for parent in sorted(scm.graph.predecessors(variable)):
            if parent in others.evidence or parent not in scm.variables or scm.domain(parent) is None:
                continue
            before = self._ask_scm(parent, others)
            after = self._ask_scm(parent, observed)
            trail.append(
                Step("causal", f"{after.query}: {describe(after)}; without {variable}: {describe(before)}")
            )
            for v, p in after.items():
                ranked.append((float(p) - float(before[v]), float(p), float(before[v]), parent, v))
        ranked.sort(key=lambda r: (-r[0], r[3]))
        if not ranked or ranked[0][0] <= 0.0:
            return (
                None,
                1.0,
                f"nothing in the model explains {variable}={value} beyond the other evidence",
                None,
            )
        _, p, base, parent, v = ranked[0]
        text = (
            f"most likely because {parent}={v} (P from {base:.2f} to {p:.2f} once {variable}={value} is seen)"
        )
        return f"{parent}={v}", p, text, None

    def _presupposed(
        self, variable: str, value: Any, seen: SceneEvidence, scene: SceneGraph | None, trail: list[Step]
    ) -> tuple[Any, Result | None]:
        """P(variable | the picture), and, when a picture makes ``variable=value`` (which the
        question presupposes) less likely than not, the answer that says so."""
        held = self._ask_scm(variable, seen)
        trail.append(Step("causal", f"{held.query}: {describe(held)}", _certainty(float(held[value]))))
        if scene is not None and held[value] < 0.5:
            text = f"{_words(variable)} is not {value} (P={held[value]:.2f})"
            return held, (None, 1.0 - float(held[value]), text, None)
        return held, None

    def _causal_causes(self, op: Op, scene: SceneGraph | None, trail: list[Step]) -> Result:
        """Which of the candidate causes of ``variable=value`` it would not have happened without.

        The candidates are the variables upstream of it whose bindings give a ``but_for``
        alternative. Each is a but-for test on the same abducted noise: P(variable would have
        been value, had the candidate been its alternative | what the picture shows, and that
        variable=value); below one half, the candidate is a cause. A candidate already in its
        alternative state (by the picture) keeps the outcome, so it is no cause. The answer is
        the causes' names; its confidence, P(variable=value) times each test's certainty."""
        scm = self._need_scm()
        variable = op.args["variable"]
        value = _coerce(scm, variable, op.args["value"])
        seen = self._causal_inputs(scene, trail)
        held, refusal = self._presupposed(variable, value, seen, scene, trail)
        if refusal is not None:
            return refusal
        ancestors = nx.ancestors(scm.graph, variable)
        candidates = [
            b
            for name, b in sorted((self.bindings.variables if self.bindings else {}).items())
            if b.but_for is not None and name in ancestors
        ]
        if not candidates:
            return None, 0.0, f"cannot tell: the world names no candidate causes of {_words(variable)}", None
        observed = SceneEvidence(
            {**seen.evidence, variable: value},
            {k: v for k, v in seen.soft_evidence.items() if k != variable},
            (),
        )
        causes: list[str] = []
        said: list[str] = []
        unknown: list[str] = []
        confidence = float(held[value])
        for binding in candidates:
            name, (kind, alternative) = binding.variable, binding.but_for
            do: dict[str, Any] = {name: alternative} if kind == "value" else {}
            if kind == "shift":
                missing = _shifted(do, {name: alternative}, observed, trail, scm)
                if missing is not None:
                    confidence *= 0.5
                    unknown.append(f"{_words(name)} ({missing})")
                    continue
            contrast = ", ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in do.items()
            )
            after = float(self._ask_scm(variable, observed, do=do)[value])
            trail.append(
                Step("causal", f"but for {_words(name)} ({contrast}): P({variable}={value}) {after:.2f}")
            )
            confidence *= _certainty(after)
            if after < 0.5:
                causes.append(name)
                said.append(f"{_words(name)} (had {contrast}: P={after:.2f})")
        rest = f"; not known for {', '.join(unknown)}" if unknown else ""
        if not causes:
            names = ", ".join(_words(b.variable) for b in candidates)
            return (
                (),
                confidence,
                f"none of {names}: {variable}={value} would have held without each{rest}",
                None,
            )
        return tuple(causes), confidence, "because of " + "; ".join(said) + rest, None

    def _explain_counterfactual(
        self,
        variable: str,
        value: Any,
        do: dict[str, Any],
        seen: SceneEvidence,
        trail: list[Step],
        *,
        base: dict[str, Any],
    ) -> Result:
        """Why ``variable=value`` would hold had ``do`` been so: the contrast between the world
        ``base`` makes (the picture's own when empty) and the one ``do`` makes, on the same
        abducted noise. The interventions of ``do`` not in ``base`` are the ones offered as why."""
        scm = self._need_scm()
        do = {k: _coerce(scm, k, v) for k, v in do.items()}
        base = {k: _coerce(scm, k, v) for k, v in base.items()}
        reference = self._ask_scm(variable, seen, do=base or None)
        counterfactual = self._ask_scm(variable, seen, do=do)
        trail.append(Step("causal", f"{reference.query}: {describe(reference)}"))
        trail.append(Step("causal", f"{counterfactual.query}: {describe(counterfactual)}"))
        before, after = float(reference[value]), float(counterfactual[value])
        change = ", ".join(f"{k}={v}" for k, v in do.items() if base.get(k, object()) != v)
        against = (
            "as the picture shows" if not base else "with " + ", ".join(f"{k}={v}" for k, v in base.items())
        )
        outcome = f"P({variable}={value}) is {after:.2f} with it"
        if abs(after - before) < 0.05:
            text = f"not because of {change}: {outcome} and {before:.2f} {against}"
            return None, _certainty(after), text, None
        text = (
            f"because {change}: P({variable}={value}) is {after:.2f} with it, against {before:.2f} {against}"
        )
        return change, abs(after - before), text, None

    def _ask_scm(self, target: str, seen: SceneEvidence, *, do: Mapping[str, Any] | None = None) -> Any:
        """P(target | scene evidence), or with ``do`` the counterfactual P(target_do | scene evidence)."""
        scm = self._need_scm()
        common = {"evidence": seen.evidence, "soft_evidence": seen.soft_evidence, "samples": self.samples}
        if do:
            return scm.counterfactual(target, do=do, seed=self.seed, **common)
        return scm.query(target, seed=self.seed, **common)

    def _causal_observe(self, op: Op, scene: SceneGraph | None, trail: list[Step]) -> Result:
        if op.args.get("event") and scene is not None and scene.duration is not None:
            # "Did the lamp go out?" of a clip: whether the clip shows it, not what the model expects.
            found = self._event(op.args["event"], scene, trail)
            happened = not isinstance(found, tuple)
            confidence = found.confidence if not isinstance(found, tuple) else ABSENT_EVENT_CONFIDENCE
            yes = happened != bool(op.args.get("negate"))
            return yes, confidence, "yes" if yes else "no", None
        scm = self._need_scm()
        target = op.args["target"]
        wanted = _coerce(scm, target, op.args["value"])
        seen = self._causal_inputs(scene, trail)
        stated = {k: _coerce(scm, k, v) for k, v in op.args["evidence"].items()}
        given = SceneEvidence(
            {**{k: v for k, v in seen.evidence.items() if k not in stated}, **stated},
            {k: v for k, v in seen.soft_evidence.items() if k not in stated},
            (),
        )
        result = self._ask_scm(target, given)
        trail.append(Step("causal", f"{result.query}: {describe(result)}"))
        return _yes_no(float(result[wanted]))

    def _causal_do(self, op: Op, scene: SceneGraph | None, trail: list[Step]) -> Result:
        scm = self._need_scm()
        target, do = op.args["target"], {k: _coerce(scm, k, v) for k, v in op.args["do"].items()}
        seen = self._causal_inputs(scene, trail)
        factual = self._ask_scm(target, seen)
        # In this scene, under the intervention: P(target_do | evidence). When the evidence is on
        # non-descendants of the intervened variables this equals P(target | do, evidence).
        after = self._ask_scm(target, seen, do=do)
        trail.append(Step("causal", f"{factual.query}: {describe(factual)}"))
        trail.append(Step("causal", f"{after.query}: {describe(after)}"))
        spec = scm.spec.variables.get(target)
        unit = spec.unit if spec is not None else None
        if hasattr(after, "items"):
            mode = max(after.items(), key=lambda kv: kv[1])
            return mode[0], mode[1], f"{target} would most likely be {mode[0]} (p={mode[1]:.2f})", None
        before, mean = factual.mean(), after.mean()
        text = f"{_words(target)} goes from {before:.1f} to {mean:.1f}{' ' + unit if unit else ''} on average"
        # For a quantity, the confidence is the probability of landing within 10% of the answer.
        within = after.probability(mean - 0.1 * abs(mean), mean + 0.1 * abs(mean))
        return round(mean, 3), within, text, unit

    def _causal_counterfactual(self, op: Op, scene: SceneGraph | None, trail: list[Step]) -> Result:
        scm = self._need_scm()
        target = op.args["target"]
        wanted = _coerce(scm, target, op.args["value"])
        do = {k: _coerce(scm, k, v) for k, v in op.args["do"].items()}
        seen = self._causal_inputs(scene, trail)
        missing = _shifted(do, op.args.get("shift"), seen, trail, scm)
        if missing is not None:
            return None, 0.0, missing, None
        result = self._ask_scm(target, seen, do=do)
        trail.append(Step("causal", f"{result.query}: {describe(result)} (abduction, action, prediction)"))
        return _yes_no(float(result[wanted]))


def _shifted(
    do: dict[str, Any],
    shifts: Mapping[str, float] | None,
    seen: SceneEvidence,
    trail: list[Step],
    scm: SCM | None = None,
) -> str | None:
    """Add ``shifts`` ("5 m/s slower") to ``do``, from the values the picture gives (or, for a
    constant of the model, its value); the reason there is no answer when neither does."""
    for variable, delta in dict(shifts or {}).items():
        base = do.get(variable, seen.evidence.get(variable))
        source = ""
        if base is None and scm is not None:
            base = _constant(scm, variable)
            source = " (a constant of the model)"
        if base is None:
            return f"cannot tell: the picture gives no {_words(variable)} to change by {float(delta):+g}"
        do[variable] = float(base) + float(delta)
        trail.append(
            Step("causal", f"{variable}: {float(base):.2f}{source} {float(delta):+g} = {do[variable]:.2f}")
        )
    return None


def _constant(scm: SCM, variable: str) -> float | None:
    """The value of a real variable with no parents and no noise of its own, else None."""
    spec = scm.spec.variables.get(variable)
    if spec is None or spec.parents or spec.domain is not None:
        return None
    values = scm.sample(2, seed=0)[variable]
    return float(values.iloc[0]) if values.nunique() == 1 else None


def _yes_no(p: float) -> Result:
    """A yes/no answer from P(yes); even odds are no answer."""
    if abs(p - 0.5) < 1e-9:
        return None, 0.0, f"cannot tell: as likely as not (P={p:.2f})", None
    yes = p > 0.5
    return yes, _certainty(p), f"{'yes' if yes else 'no'} (P={p:.2f})", None


def _rule_name(executor: Executor, row: Any) -> str:
    return str(row["label"]) if row.get("label") is not None else executor.label(str(row["rule"]))


def _attribute_step(whose: str, what: str, attribute: Attribute) -> Step:
    owner = f"{whose}: " if whose else ""
    return Step(
        "scene",
        f"{owner}{what} {attribute.value} ({attribute.how} p={attribute.confidence:.3f})",
        attribute.confidence,
    )


def _members_step(what: str, members: list[_Member]) -> Step:
    listed = ", ".join(f"{m.obj.id} (p={m.p:.3f})" for m in members) or "none"
    return Step(
        "scene", f"{len(members)} {what}: {listed}", min((_certainty(m.p) for m in members), default=1.0)
    )


def _absent(members: list[_Member]) -> float:
    absent = 1.0
    for m in members:
        absent *= 1.0 - m.p
    return absent


def _coerce(scm: SCM, variable: str, value: Any) -> Any:
    domain = scm.domain(variable)
    if domain is None:
        return float(value)
    for v in domain:
        if str(v) == str(value):
            return v
    return value


def _words(name: str) -> str:
    from mmreason.qa.lexicon import variable_words

    return variable_words(name)
