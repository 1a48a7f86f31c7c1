"""Program -> answer: run a parsed question over a grounded scene, the KG and an SCM.

Perception facts come from the grounded scene with their CLIP probabilities;
class membership (``rdfs:subClassOf`` closure), traffic rules and surface facts
come from SPARQL queries on the knowledge graph, with values bound; causal
questions go to the SCM with the image's facts as evidence. Each answer's
confidence is the probability, under the model's probabilities taken as
independent, that its value is right; each step behind it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from mmreason.answer import Answer, Step
from mmreason.kg.vocab import MR, PREDICTED_GRAPH
from mmreason.qa.evidence import SceneEvidence, attribute_probability, scene_evidence
from mmreason.scenarios import describe
from mmreason.vision.grounding import OBJECT_ATTRIBUTES, OBJECT_MEASURES

if TYPE_CHECKING:
    from mmreason.causal.bindings import Bindings
    from mmreason.causal.scm import SCM
    from mmreason.kg.graph import KnowledgeGraph
    from mmreason.qa.program import Op, Program
    from mmreason.vision.grounding import GroundedObject, SceneGraph

__all__ = ["Executor"]

# Knowledge comes from every graph but the predicted one: a GNN's guesses never pass for asserted facts.
_SUBCLASSES = "SELECT ?sub WHERE { GRAPH ?g { ?sub rdfs:subClassOf* ?cls } FILTER(?g != ?predicted) }"
_LABEL = "SELECT ?label WHERE { ?x rdfs:label ?label }"
_RULES = """
SELECT ?label ?applies WHERE {
  GRAPH ?g {
    ?rule a mr:TrafficRule ; mr:when ?state ; mr:appliesTo ?applies ; mr:requires ?action .
    OPTIONAL { ?rule rdfs:label ?label }
  }
  FILTER(?g != ?predicted)
}"""
_FOLLOW = "SELECT ?v WHERE { GRAPH ?g { ?x ?p ?v } FILTER(?g != ?predicted) }"
# What a GNN predicted a state requires, with its calibrated score (see mmreason.gnn.complete).
_PREDICTED_REQUIRES = """
SELECT ?score ?model WHERE {
  GRAPH ?predicted {
    ?st rdf:subject ?state ; rdf:predicate mr:requires ; rdf:object ?action ; mr:confidence ?score .
    OPTIONAL { ?st <http://www.w3.org/ns/prov#wasGeneratedBy> ?model }
  }
}"""


@dataclass(frozen=True, slots=True)
class _Member:
    obj: GroundedObject
    p: float  # probability that this object belongs to the selection


def _local(iri: str) -> str:
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _describe(obj: GroundedObject) -> str:
    colour = f"{obj.colour.value} " if obj.colour is not None else ""
    return f"{colour}{obj.type.value}"


def _certainty(p: float) -> float:
    return max(p, 1.0 - p)


class Executor:
    """Runs programs for one KG, one SCM and its bindings."""

    def __init__(
        self, *, kg: KnowledgeGraph, scm: SCM, bindings: Bindings, samples: int = 2000, seed: int = 0
    ):
        self.kg = kg
        self.scm = scm
        self.bindings = bindings
        self.samples = samples
        self.seed = seed
        self._subclasses: dict[str, frozenset[str]] = {}
        self._labels: dict[str, str] = {}

    # ------------------------------------------------------------------ KG helpers

    def subclasses(self, cls: str, steps: list[Step] | None = None) -> frozenset[str]:
        """``cls`` and every class below it, by a SPARQL property path (cached)."""
        if cls not in self._subclasses:
            rows = self.kg.query(_SUBCLASSES, cls=URIRef(cls), predicted=PREDICTED_GRAPH)
            self._subclasses[cls] = frozenset(str(r["sub"]) for r in rows) | {cls}
        if steps is not None:
            steps.append(
                Step(
                    "sparql",
                    f"{_SUBCLASSES} with ?cls = mr:{_local(cls)} -> "
                    + ", ".join(sorted(_local(c) for c in self._subclasses[cls])),
                )
            )
        return self._subclasses[cls]

    def label(self, iri: str) -> str:
        if iri not in self._labels:
            rows = self.kg.query(_LABEL, x=URIRef(iri))
            self._labels[iri] = str(rows[0]["label"]) if rows else _local(iri)
        return self._labels[iri]

    def evidence(self, scene: SceneGraph) -> SceneEvidence:
        type_iris = {
            str(b.source.cls): self.subclasses(str(b.source.cls))
            for b in self.bindings.variables.values()
            if b.source is not None and b.source.cls is not None
        }
        bounds = {name: self.scm.spec.variables[name].bounds for name in self.scm.variables}
        return scene_evidence(scene, self.bindings, type_iris=type_iris, bounds=bounds)

    # ------------------------------------------------------------------ running

    def run(self, program: Program, scene: SceneGraph, *, steps: Iterable[Step] = ()) -> Answer:
        """Answer ``program`` on ``scene``; ``steps`` (grounding, parsing) go first in the provenance."""
        trail = list(steps)
        value, confidence, text, unit = self._run(program, scene, trail)
        return Answer(
            question=program.question,
            value=value,
            confidence=float(min(1.0, max(0.0, confidence))),
            steps=tuple(trail),
            text=text,
            family=program.family,
            unit=unit,
        )

    def _run(
        self, program: Program, scene: SceneGraph, trail: list[Step]
    ) -> tuple[Any, float, str, str | None]:
        ops = list(program.ops)
        head = ops[0]
        if head.name in ("explain", "do", "counterfactual"):
            return getattr(self, f"_causal_{head.name}")(head, scene, trail)
        cls = head.args["cls"]
        if cls == str(MR.Scene) or cls == str(MR.Road):
            return self._scene_op(cls, ops[1:], scene, trail)
        if cls == str(MR.TrafficLight):
            return self._light_op(ops[1:], scene, trail)
        members = self._select(cls, scene, trail)
        rest = ops[1:]
        while rest and (rest[0].name in ("filter", "on") or (rest[0].name == "closest" and len(rest) > 1)):
            op = rest.pop(0)
            members = (
                self._closest(op, members, noun_of=cls, trail=trail)
                if op.name == "closest"
                else self._narrow(op, members, trail)
            )
        final = rest[0] if rest else None
        noun = self.label(cls)
        if final is None:
            raise ValueError(f"program ends without an answer op: {program!r}")
        return getattr(self, f"_final_{final.name}")(final, members, noun, scene, trail)

    # ------------------------------------------------------------- object sets

    def _select(self, cls: str, scene: SceneGraph, trail: list[Step]) -> list[_Member]:
        classes = self.subclasses(cls, trail)
        members = [_Member(o, attribute_probability(o.type, classes)) for o in scene.objects]
        members = [m for m in members if m.p > 0.0]
        trail.append(_members_step(f"object(s) that may be a {self.label(cls)}", members))
        return members

    def _narrow(self, op: Op, members: list[_Member], trail: list[Step]) -> list[_Member]:
        if op.name == "filter":
            value = op.args["value"]
            narrowed = [
                _Member(m.obj, m.p * (attribute_probability(m.obj.colour, {value}) if m.obj.colour else 0.0))
                for m in members
            ]
            what = self.label(value)
        else:
            narrowed = [_Member(m.obj, m.p if m.obj.on_crosswalk else 0.0) for m in members]
            what = "on the crosswalk"
        narrowed = [m for m in narrowed if m.p > 0.0]
        trail.append(_members_step(f"of them {what}", narrowed))
        return narrowed

    def _final_count(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        count = sum(1 for m in members if m.p >= 0.5)
        confidence = 1.0
        for m in members:
            confidence *= _certainty(m.p)
        return count, confidence, str(count), None

    def _final_exist(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        absent = 1.0
        for m in members:
            absent *= 1.0 - m.p
        present = 1.0 - absent
        return present >= 0.5, _certainty(present), "yes" if present >= 0.5 else "no", None

    def _likely(self, members: list[_Member], noun: str) -> list[_Member]:
        return [m for m in members if m.p >= 0.5]

    def _final_query(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        likely = self._likely(members, noun)
        if not likely:
            return None, _absent_confidence(members), f"there is no {noun} in the image", None
        prop = op.args["prop"]
        if prop in OBJECT_MEASURES:
            field, unit = OBJECT_MEASURES[prop]
            what = self.label(prop)
            measured = [m for m in likely if getattr(m.obj, field) is not None]
            if not measured:
                shown = f"no {noun} is approaching the crosswalk with a {what} the image shows"
                return None, 1.0, shown, None
            nearest = _nearest_first(measured)
            reading = round(float(getattr(nearest.obj, field)), 2)
            trail.append(
                Step(
                    "scene", f"{nearest.obj.id}: {what} {reading:.2f} {unit}, by the world's scale", nearest.p
                )
            )
            return reading, nearest.p, f"{reading:.1f} {unit}", unit
        values = []
        confidence = 1.0
        for m in sorted(likely, key=lambda m: m.obj.bbox[0]):
            attribute = m.obj.colour
            if attribute is None:
                continue
            values.append(attribute.value)
            confidence *= m.p * attribute.confidence
            trail.append(
                Step(
                    "scene",
                    f"{m.obj.id}: colour {attribute.value} (CLIP p={attribute.confidence:.3f})",
                    attribute.confidence,
                )
            )
        if not values:
            return None, 1.0, f"the {noun} has no colour the model reads", None
        value = values[0] if len(values) == 1 else tuple(values)
        text = values[0] if len(values) == 1 else " and ".join(values) + f" ({len(values)} {noun}s)"
        return value, confidence, text, None

    def _closest(self, op: Op, members: list[_Member], *, noun_of: str, trail: list[Step]) -> list[_Member]:
        measured = [m for m in members if m.p >= 0.5 and m.obj.distance_to_crosswalk is not None]
        if not measured:
            return []
        pick = min if op.args["order"] == "min" else max
        best = pick(measured, key=lambda m: m.obj.distance_to_crosswalk)
        trail.append(
            Step(
                "scene",
                "distances to the crosswalk: "
                + ", ".join(f"{m.obj.id} {m.obj.distance_to_crosswalk:.2f} m" for m in measured)
                + f" -> {best.obj.id}",
                best.p,
            )
        )
        return [best]

    def _final_verify(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        likely = self._likely(members, noun)
        if not likely:
            return None, _absent_confidence(members), f"there is no {noun} in the image", None
        field = OBJECT_ATTRIBUTES.get(op.args["prop"])
        read = [m for m in likely if field is not None and getattr(m.obj, field) is not None]
        if not read:
            return None, 1.0, f"the image does not show the {self.label(op.args['prop'])} of the {noun}", None
        m = _nearest_first(read)
        attribute = getattr(m.obj, field)
        p = attribute_probability(attribute, {op.args["value"]})
        trail.append(
            Step(
                "scene",
                f"{m.obj.id}: {self.label(op.args['prop'])} {attribute.value} "
                f"(CLIP p={attribute.confidence:.3f})",
                attribute.confidence,
            )
        )
        yes = (p >= 0.5) != bool(op.args.get("negate"))
        return yes, m.p * _certainty(p), "yes" if yes else "no", None

    def _final_closest(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        found = self._closest(op, self._likely(members, noun), noun_of=noun, trail=trail)
        if not found:
            return None, 1.0, f"no {noun} is approaching the crosswalk", None
        best = found[0]
        colour = best.obj.colour.confidence if best.obj.colour is not None else 1.0
        return _describe(best.obj), best.p * colour, f"the {_describe(best.obj)}", None

    def _final_relate(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        likely = self._likely(members, noun)
        if not likely:
            return None, _absent_confidence(members), f"there is no {noun} in the image", None
        anchor = max(likely, key=lambda m: m.p)
        if op.args["find"] == "subject":  # X leftOf anchor
            found = [o for o in scene.objects if o is not anchor.obj and o.bbox[2] <= anchor.obj.bbox[0]]
            where = "left of"
        else:
            found = [o for o in scene.objects if o is not anchor.obj and anchor.obj.bbox[2] <= o.bbox[0]]
            where = "right of"
        found.sort(key=lambda o: o.bbox[0])
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
        return (
            tuple(_describe(o) for o in found),
            confidence,
            ", ".join(_describe(o) for o in found) or "nothing",
            None,
        )

    def _final_rule(self, op: Op, members: list[_Member], noun: str, scene: SceneGraph, trail: list[Step]):
        likely = self._likely(members, noun)
        if not likely:
            return None, _absent_confidence(members), f"there is no {noun} in the image", None
        cls = str(likely[0].obj.type.concept.iri)
        conditions: list[tuple[URIRef, float]] = []
        if scene.light is not None:
            conditions.append((URIRef(scene.light.concept.iri), scene.light.confidence))
        walkers = [o for o in scene.objects if o.on_crosswalk and o.colour is None]
        if walkers:
            conditions.append((MR.onCrosswalk, max(o.type.confidence for o in walkers)))
        action = URIRef(op.args["action"])
        required, p_required = [], 0.0
        for state, p_state in conditions:
            rows = self.kg.query(_RULES, state=state, action=action, predicted=PREDICTED_GRAPH)
            rows = [r for r in rows if cls in self.subclasses(str(r["applies"]))]
            when = "a pedestrian is on the crosswalk" if state == MR.onCrosswalk else self.label(str(state))
            asked = f"rules requiring {self.label(str(action))} of a {self.label(cls)} when {when}"
            trail.append(
                Step("sparql", f"{asked} -> {', '.join(str(r['label']) for r in rows) or 'none'}", p_state)
            )
            if rows:
                required.append(str(rows[0]["label"]))
                p_required = 1.0 - (1.0 - p_required) * (1.0 - p_state)
                continue
            # The asserted rules are silent: a fact a GNN predicted may speak, at its calibrated score.
            predicted = self.kg.query(
                _PREDICTED_REQUIRES, state=state, action=action, predicted=PREDICTED_GRAPH
            )
            if predicted:
                best = max(predicted, key=lambda r: float(r["score"]))
                p_gnn = float(best["score"])
                model = _local(str(best["model"])) if best.get("model") is not None else "a GNN"
                trail.append(
                    Step(
                        "gnn",
                        f"predicted {_local(str(state))} requires {_local(str(action))} "
                        f"(score {p_gnn:.3f}, {model})",
                        p_gnn,
                    )
                )
                if p_gnn >= 0.5:
                    required.append(
                        f"{when} requires {self.label(str(action))} (predicted, score {p_gnn:.2f})"
                    )
                    p_required = 1.0 - (1.0 - p_required) * (1.0 - p_state * p_gnn)
        must = bool(required)
        if must:
            confidence = p_required
        else:
            # Nothing observed requires the action: as sure as the observed states are.
            confidence = 1.0
            for _, p_state in conditions:
                confidence *= p_state
        text = ("yes: " + "; ".join(required)) if must else "no rule requires it here"
        return must, confidence, text, None

    # ---------------------------------------------------------- scene attributes

    def _scene_op(self, cls: str, ops: list[Op], scene: SceneGraph, trail: list[Step]):
        op = ops[0]
        prop = op.args.get("prop")
        # The scene states its weather and its road surface; a road's property is its surface.
        by_property = {str(MR.weather): scene.weather, str(MR.surface): scene.road}
        attribute = by_property.get(prop) if op.name != "follow" else None
        if attribute is None:
            attribute = scene.road if cls == str(MR.Road) else scene.weather
        trail.append(
            Step(
                "ground",
                f"{_local(prop or '') or 'scene'}: {attribute.value} (CLIP p={attribute.confidence:.3f})",
                attribute.confidence,
            )
        )
        if op.name == "query":
            return attribute.value, attribute.confidence, attribute.value, None
        if op.name == "verify":
            p = attribute_probability(attribute, {op.args["value"]})
            yes = (p >= 0.5) != bool(op.args.get("negate"))
            return yes, _certainty(p), "yes" if yes else "no", None
        if op.name == "follow":
            rows = self.kg.query(
                _FOLLOW, x=URIRef(attribute.concept.iri), p=URIRef(op.args["prop"]), predicted=PREDICTED_GRAPH
            )
            trail.append(
                Step(
                    "sparql",
                    f"{self.label(attribute.concept.iri)} {self.label(op.args['prop'])}? -> "
                    + ", ".join(str(r["v"]) for r in rows),
                )
            )
            if not rows:
                return None, attribute.confidence, "the knowledge graph does not say", None
            truth = bool(rows[0]["v"]) != bool(op.args.get("negate"))
            return truth, attribute.confidence, "yes" if truth else "no", None
        raise ValueError(f"unsupported operation {op.name!r} on the scene")

    def _light_op(self, ops: list[Op], scene: SceneGraph, trail: list[Step]):
        if scene.light is None:
            return None, 1.0, "there is no traffic light in the image", None
        light = scene.light
        trail.append(
            Step("ground", f"traffic light: {light.value} (CLIP p={light.confidence:.3f})", light.confidence)
        )
        op = ops[0]
        if op.name == "query":
            return light.value, light.confidence, light.value, None
        if op.name == "verify":
            wanted = op.args["value"]
            # A light's colour is its state: mr:red names the state mr:redLight.
            states = {
                c for c in self.bindings["Light"].values.values() if _local(c).startswith(_local(wanted))
            }
            p = attribute_probability(light, {str(s) for s in states} | {wanted})
            yes = (p >= 0.5) != bool(op.args.get("negate"))
            return yes, _certainty(p), "yes" if yes else "no", None
        raise ValueError(f"unsupported operation {op.name!r} on a traffic light")

    # ------------------------------------------------------------------ causal

    def _causal_inputs(self, scene: SceneGraph, trail: list[Step]) -> SceneEvidence:
        found = self.evidence(scene)
        trail.extend(found.steps)
        return found

    def _causal_explain(self, op: Op, scene: SceneGraph, trail: list[Step]):
        variable = op.args["variable"]
        value = _coerce(self.scm, variable, op.args["value"])
        seen = self._causal_inputs(scene, trail)
        # The question presupposes variable=value; first ask whether the image bears that out.
        held = self.scm.query(
            variable,
            evidence=seen.evidence,
            soft_evidence=seen.soft_evidence,
            samples=self.samples,
            seed=self.seed,
        )
        trail.append(Step("causal", f"{held.query}: {describe(held)}", _certainty(float(held[value]))))
        if held[value] < 0.5:
            return (
                None,
                1.0 - float(held[value]),
                f"{_words(variable)} is not {value} (P={held[value]:.2f})",
                None,
            )
        soft = {k: v for k, v in seen.soft_evidence.items() if k != variable}
        evidence = {**{k: v for k, v in seen.evidence.items() if k != variable}, variable: value}
        # Abduction over the causes: which parent state does the evidence make more likely than before?
        best: tuple[float, str, Any] | None = None
        for parent in sorted(self.scm.graph.predecessors(variable)):
            posterior = self.scm.query(
                parent, evidence=evidence, soft_evidence=soft, samples=self.samples, seed=self.seed
            )
            prior = self.scm.query(parent, samples=self.samples, seed=self.seed)
            if not isinstance(posterior, Mapping):
                continue
            trail.append(Step("causal", f"{posterior.query}: {describe(posterior)}; prior {describe(prior)}"))
            for v, p in posterior.items():
                if p > prior[v] and (best is None or p > best[0]):
                    best = (float(p), parent, v)
        if best is None:
            return None, 1.0, f"nothing in the model explains {variable}={value}", None
        p, parent, v = best
        return f"{parent}={v}", p, f"most likely because {parent}={v} (posterior {p:.2f})", None

    def _ask_scm(self, target: str, seen: SceneEvidence, *, do: Mapping[str, Any] | None = None) -> Any:
        """P(target | scene evidence), or with ``do`` the counterfactual P(target_do | scene evidence)."""
        common = {"evidence": seen.evidence, "soft_evidence": seen.soft_evidence, "samples": self.samples}
        if do:
            return self.scm.counterfactual(target, do=do, seed=self.seed, **common)
        return self.scm.query(target, seed=self.seed, **common)

    def _causal_do(self, op: Op, scene: SceneGraph, trail: list[Step]):
        target, do = op.args["target"], {k: _coerce(self.scm, k, v) for k, v in op.args["do"].items()}
        seen = self._causal_inputs(scene, trail)
        factual = self._ask_scm(target, seen)
        # In this scene, under the intervention: P(target_do | evidence). When the evidence is on
        # non-descendants of the intervened variables this equals P(target | do, evidence).
        after = self._ask_scm(target, seen, do=do)
        trail.append(Step("causal", f"{factual.query}: {describe(factual)}"))
        trail.append(Step("causal", f"{after.query}: {describe(after)}"))
        unit = self.scm.spec.variables[target].unit
        if hasattr(after, "items"):
            mode = max(after.items(), key=lambda kv: kv[1])
            return mode[0], mode[1], f"{target} would most likely be {mode[0]} (p={mode[1]:.2f})", None
        before, mean = factual.mean(), after.mean()
        text = f"{_words(target)} goes from {before:.1f} to {mean:.1f}{' ' + unit if unit else ''} on average"
        # For a quantity, the confidence is the probability of landing within 10% of the answer.
        within = after.probability(mean - 0.1 * abs(mean), mean + 0.1 * abs(mean))
        return round(mean, 3), within, text, unit

    def _causal_counterfactual(self, op: Op, scene: SceneGraph, trail: list[Step]):
        target = op.args["target"]
        wanted = _coerce(self.scm, target, op.args["value"])
        do = {k: _coerce(self.scm, k, v) for k, v in op.args["do"].items()}
        seen = self._causal_inputs(scene, trail)
        result = self._ask_scm(target, seen, do=do)
        trail.append(Step("causal", f"{result.query}: {describe(result)} (abduction, action, prediction)"))
        p = float(result[wanted])
        yes = p >= 0.5
        return yes, _certainty(p), f"{'yes' if yes else 'no'} (P={p:.2f})", None


def _nearest_first(members: list[_Member]) -> _Member:
    """ "The car" of a question: the one nearest the crosswalk (the vehicle the scene's causal
    model describes) when several approach it, else the likeliest."""
    return min(
        members,
        key=lambda m: (m.obj.distance_to_crosswalk is None, m.obj.distance_to_crosswalk or 0.0, -m.p),
    )


def _members_step(what: str, members: list[_Member]) -> Step:
    listed = ", ".join(f"{m.obj.id} (p={m.p:.3f})" for m in members) or "none"
    return Step(
        "scene", f"{len(members)} {what}: {listed}", min((_certainty(m.p) for m in members), default=1.0)
    )


def _absent_confidence(members: list[_Member]) -> float:
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
