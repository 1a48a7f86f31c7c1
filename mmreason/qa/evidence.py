"""From a grounded scene to SCM evidence, through the bindings of each variable.

Scene attributes (weather, road surface, light state) and attributes of the
nearest vehicle (its brake lights) enter as soft evidence: their CLIP
probabilities are the likelihoods of the variable's values (virtual evidence,
Pearl 1988 §2.2.2). The existence of an object in a relation (a pedestrian on
the crosswalk) enters as soft evidence too; a measured quantity (the nearest
vehicle's distance to the crosswalk, its speed) as hard evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from mmreason.answer import Step
from mmreason.kg.vocab import MR
from mmreason.vision.grounding import OBJECT_ATTRIBUTES, OBJECT_MEASURES

if TYPE_CHECKING:
    from mmreason.causal.bindings import Bindings, VariableBinding
    from mmreason.vision.grounding import Attribute, SceneGraph

__all__ = ["SceneEvidence", "attribute_probability", "scene_evidence"]

# A detector can miss or invent an object: no likelihood from one goes below this floor, so a
# missed pedestrian lowers, but never zeroes, the probability that one was there.
LIKELIHOOD_FLOOR = 0.01


@dataclass(frozen=True, slots=True)
class SceneEvidence:
    """Evidence one scene gives an SCM, and the steps that read it."""

    evidence: Mapping[str, Any]
    soft_evidence: Mapping[str, Mapping[Any, float]]
    steps: tuple[Step, ...]


def attribute_probability(attribute: Attribute, iris: set[str] | frozenset[str]) -> float:
    """P(the attribute's concept is one of ``iris``) by CLIP: summed when the full distribution is known."""
    distribution = getattr(attribute, "distribution", None)
    if distribution:
        return float(sum(p for iri, p in distribution.items() if iri in iris))
    return attribute.confidence if attribute.concept.iri in iris else 0.0


def _attribute_likelihoods(attribute: Attribute, binding: VariableBinding) -> dict[Any, float]:
    distribution = getattr(attribute, "distribution", None)
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


def _attribute_of(scene: SceneGraph, prop: URIRef, *, nearest: bool) -> tuple[Attribute | None, str]:
    """(the attribute ``prop`` states, whose it is in words): of the scene, or of its nearest vehicle."""
    if not nearest:
        # The scene-level facts a SceneGraph carries, by the property that states them.
        by_property = {MR.weather: scene.weather, MR.surface: scene.road, MR.lightState: scene.light}
        return by_property.get(prop), ""
    vehicle = scene.nearest_vehicle
    if vehicle is None:
        return None, ""
    whose = f"the {vehicle.type.value} nearest the crosswalk has its {prop.rsplit('#', 1)[-1]} "
    return getattr(vehicle, OBJECT_ATTRIBUTES[str(prop)]), whose


def scene_evidence(
    scene: SceneGraph,
    bindings: Bindings,
    *,
    type_iris: Mapping[str, frozenset[str]],
    bounds: Mapping[str, tuple[float, float] | None] | None = None,
) -> SceneEvidence:
    """The evidence ``scene`` gives the variables of ``bindings``.

    ``type_iris`` maps a class IRI to the IRIs of it and its subclasses (the
    KG's ``rdfs:subClassOf`` closure), so that "a pedestrian" also counts a
    subclass of pedestrian. ``bounds`` gives the range of each real variable:
    a reading within its binding's ``resolution`` of a bound is taken as the
    bound; one farther outside is not used as evidence.
    """
    bounds = bounds or {}
    evidence: dict[str, Any] = {}
    soft: dict[str, dict[Any, float]] = {}
    steps: list[Step] = []
    for name, binding in bindings.variables.items():
        source = binding.source
        if source is None:
            continue
        if source.kind in ("scene", "object") and (
            source.pick is None or str(source.property) in OBJECT_ATTRIBUTES
        ):
            attribute, whose = _attribute_of(scene, source.property, nearest=source.pick is not None)
            if attribute is None:
                continue
            soft[name] = _attribute_likelihoods(attribute, binding)
            steps.append(
                Step(
                    "ground",
                    f"{name}: {whose}{attribute.value} (CLIP p={attribute.confidence:.3f}) -> soft evidence "
                    + ", ".join(f"{v}: {p:.3f}" for v, p in soft[name].items()),
                    attribute.confidence,
                )
            )
        elif source.kind == "object" and str(source.property) in OBJECT_MEASURES:
            field_name, unit = OBJECT_MEASURES[str(source.property)]
            nearest = scene.nearest_vehicle
            reading = None if nearest is None else getattr(nearest, field_name)
            if reading is None:
                continue
            reading = float(reading)
            what = f"the {nearest.type.value} nearest the crosswalk, read off the image at the world's scale"
            value, note = _within_bounds(reading, bounds.get(name), binding.resolution)
            if value is None:
                steps.append(Step("ground", f"{name} read as {reading:.3f} ({what}); {note}; not used", 1.0))
                continue
            evidence[name] = value
            steps.append(
                Step(
                    "ground",
                    f"{name} = {value:.2f} {unit} ({what}{'; ' + note if note else ''})",
                    nearest.type.confidence,
                )
            )
        elif source.kind == "exists" and source.cls is not None:
            members = type_iris.get(str(source.cls), frozenset({str(source.cls)}))
            absent = 1.0
            for obj in scene.objects:
                if source.property == MR.onCrosswalk and not obj.on_crosswalk:
                    continue
                absent *= 1.0 - attribute_probability(obj.type, members)
            p = 1.0 - absent
            soft[name] = {0: max(1.0 - p, LIKELIHOOD_FLOOR), 1: max(p, LIKELIHOOD_FLOOR)}
            steps.append(
                Step(
                    "ground",
                    f"{name}: p={p:.3f} that some {source.cls.rsplit('#', 1)[-1]} "
                    f"is {source.property.rsplit('#', 1)[-1]} -> soft evidence",
                    max(p, 1.0 - p),
                )
            )
    return SceneEvidence(evidence, soft, tuple(steps))


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
