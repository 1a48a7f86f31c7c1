"""From a grounded scene to SCM evidence, through the bindings of each variable.

A binding names where its variable is read, by IRI: a scene attribute, an
attribute or measurement of an object of a class (the likeliest one, or the
one with the least or most of a measured property), or the existence of an
object of a class in a relation. An attribute enters as soft evidence: CLIP's
probabilities are the likelihoods of the variable's values (virtual evidence,
Pearl 1988 §2.2.2). The existence of an object in a relation enters as soft
evidence too; a measured quantity as hard evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmreason.answer import Step
from mmreason.vision.vocabulary import local_name

if TYPE_CHECKING:
    from mmreason.causal.bindings import Bindings, KgSource, VariableBinding
    from mmreason.vision.grounding import Attribute, GroundedObject, SceneGraph

__all__ = ["SceneEvidence", "attribute_probability", "pick_object", "relation_probability", "scene_evidence"]

# A detector can miss or invent an object: no likelihood from one goes below this floor, so a
# missed object lowers, but never zeroes, the probability that one was there.
LIKELIHOOD_FLOOR = 0.01


@dataclass(frozen=True, slots=True)
class SceneEvidence:
    """Evidence one scene gives an SCM, and the steps that read it."""

    evidence: Mapping[str, Any]
    soft_evidence: Mapping[str, Mapping[Any, float]]
    steps: tuple[Step, ...]
    #: The ids of the objects the evidence was read from (the object a causal question is about).
    objects: tuple[str, ...] = ()


def attribute_probability(attribute: Attribute, iris: set[str] | frozenset[str]) -> float:
    """P(the attribute's concept is one of ``iris``) by CLIP: summed when the full distribution is known."""
    return attribute.probability(iris)


def _attribute_likelihoods(attribute: Attribute, binding: VariableBinding) -> dict[Any, float]:
    distribution = attribute.distribution
    out = {}
    for value, iri in binding.values.items():
        if distribution:
            p = float(distribution.get(str(iri), 0.0))
        elif str(iri) == attribute.concept.iri:
            p = attribute.confidence
        else:
            p = (1.0 - attribute.confidence) / max(1, len(binding.values) - 1)
        out[value] = max(p, LIKELIHOOD_FLOOR)
    return out


def pick_object(
    scene: SceneGraph,
    members: frozenset[str],
    pick: tuple[str, str] | None,
) -> GroundedObject | None:
    """The object a binding or a question means among those likely of a class (``members``: the
    class and its subclasses): by ``pick`` = ``("least" | "most", measured property)``, else the likeliest."""
    likely = [o for o in scene.objects if o.type.probability(members) >= 0.5]
    if pick is not None:
        order, prop = pick
        measured = [o for o in likely if o.measure(prop) is not None]
        if not measured:
            return None
        choose = min if order == "least" else max
        return choose(measured, key=lambda o: o.measure(prop))  # type: ignore[arg-type, return-value]
    return max(likely, key=lambda o: o.type.probability(members), default=None)


def relation_probability(scene: SceneGraph, obj: GroundedObject, prop: str) -> float:
    """P(``obj prop ?x`` holds in the scene), by the relations grounding and readers found."""
    found = scene.related(obj.id, prop)
    return max((r.confidence for r in found), default=0.0)


def scene_evidence(
    scene: SceneGraph,
    bindings: Bindings,
    *,
    subclasses: Callable[[str], frozenset[str]],
    bounds: Mapping[str, tuple[float, float] | None] | None = None,
    units: Mapping[str, str] | None = None,
) -> SceneEvidence:
    """The evidence ``scene`` gives the variables of ``bindings``.

    ``subclasses`` maps a class IRI to the IRIs of it and its subclasses (the
    KG's ``rdfs:subClassOf`` closure), so that "a plant" also counts a
    tomato. ``bounds`` gives the range of each real variable:
    a reading within its binding's ``resolution`` of a bound is taken as the
    bound; one farther outside is not used as evidence. ``units`` names the unit
    of a measured property, by IRI, for the steps.
    """
    bounds = bounds or {}
    units = units or {}
    evidence: dict[str, Any] = {}
    soft: dict[str, dict[Any, float]] = {}
    steps: list[Step] = []
    picked: list[str] = []
    for name, binding in bindings.variables.items():
        source = binding.source
        if source is None:
            continue
        if source.kind == "scene":
            attribute = scene.attribute(str(source.property))
            if attribute is not None:
                soft[name] = _attribute_likelihoods(attribute, binding)
                steps.append(_soft_step(name, "", attribute, soft[name]))
        elif source.kind == "object":
            members = subclasses(str(source.cls))
            obj = pick_object(scene, members, _pick(source))
            if obj is None:
                continue
            if obj.id not in picked:
                picked.append(obj.id)
            whose = _whose(obj, source)
            attribute = obj.attribute(str(source.property))
            reading = obj.measure(str(source.property))
            if attribute is not None:
                soft[name] = _attribute_likelihoods(attribute, binding)
                steps.append(
                    _soft_step(name, f"{whose} has its {local_name(source.property)} ", attribute, soft[name])
                )
            elif reading is not None:
                unit = units.get(str(source.property), "")
                value, note = _within_bounds(float(reading), bounds.get(name), binding.resolution)
                what = f"{whose}, measured off the image"
                if value is None:
                    steps.append(
                        Step("ground", f"{name} read as {reading:.3f} ({what}); {note}; not used", 1.0)
                    )
                    continue
                evidence[name] = value
                steps.append(
                    Step(
                        "ground",
                        f"{name} = {value:.2f}{' ' + unit if unit else ''} "
                        f"({what}{'; ' + note if note else ''})",
                        obj.type.confidence,
                    )
                )
        elif source.kind == "exists" and source.cls is not None:
            members = subclasses(str(source.cls))
            absent = 1.0
            for obj in scene.objects:
                related = relation_probability(scene, obj, str(source.property))
                absent *= 1.0 - obj.type.probability(members) * related
            p = 1.0 - absent
            soft[name] = {0: max(1.0 - p, LIKELIHOOD_FLOOR), 1: max(p, LIKELIHOOD_FLOOR)}
            steps.append(
                Step(
                    "ground",
                    f"{name}: p={p:.3f} that some {local_name(source.cls)} "
                    f"is {local_name(source.property)} -> soft evidence",
                    max(p, 1.0 - p),
                )
            )
    return SceneEvidence(evidence, soft, tuple(steps), tuple(picked))


def _pick(source: KgSource) -> tuple[str, str] | None:
    return None if source.pick is None else (source.pick[0], str(source.pick[1]))


def _whose(obj: GroundedObject, source: KgSource) -> str:
    if source.pick is None:
        return f"the {obj.type.value} {obj.id}"
    order, prop = source.pick
    return f"the {obj.type.value} {obj.id} with the {order} {local_name(prop)}"


def _soft_step(name: str, whose: str, attribute: Attribute, likelihoods: Mapping[Any, float]) -> Step:
    return Step(
        "ground",
        f"{name}: {whose}{attribute.value} ({attribute.how} p={attribute.confidence:.3f}) -> soft evidence "
        + ", ".join(f"{v}: {p:.3f}" for v, p in likelihoods.items()),
        attribute.confidence,
    )


def _within_bounds(
    reading: float, bounds: tuple[float, float] | None, resolution: float | None
) -> tuple[float | None, str]:
    """A reading checked against the variable's range: (value to use or None, what was done)."""
    if bounds is None:
        return reading, ""
    low, high = bounds
    if low <= reading <= high:
        return reading, ""
    nearest = low if reading < low else high
    if resolution is not None and abs(reading - nearest) <= resolution:
        return (
            nearest,
            f"read as {reading:.3f}, within the reading resolution {resolution:g} of the bound {nearest:g}",
        )
    return None, f"outside the model's range [{low:g}, {high:g}]"
