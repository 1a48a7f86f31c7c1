"""Hand-built scenes of the crossing world: every probability set by hand, no CLIP."""

from __future__ import annotations

from types import MappingProxyType

from mmreason.vision.grounding import Attribute, GroundedObject, GroundedRegion, Relation, SceneGraph
from mmreason.vision.vocabulary import Vocabulary
from mmreason.worlds.crossing import MR

VOCAB = Vocabulary.from_world("crossing")
COLOUR, LIGHT, LAMPS = str(MR.colour), str(MR.lightState), str(MR.brakeLights)
DISTANCE, SPEED = str(MR.distanceToCrosswalk), str(MR.speed)


def attr(kind: str, name: str, p: float) -> Attribute:
    """A reading with only its best value known (``kind``: "type" or a property IRI)."""
    return Attribute.of(VOCAB.by_name(kind, name), p)


def lamps(on: bool, p: float) -> Attribute:
    # Two states: CLIP's distribution is p for the one read and 1 - p for the other.
    lit, dark = VOCAB.by_name(LAMPS, "brakeLightsOn"), VOCAB.by_name(LAMPS, "brakeLightsOff")
    concept = lit if on else dark
    distribution = {lit.iri: p if on else 1.0 - p, dark.iri: 1.0 - p if on else p}
    return Attribute.of(concept, p, distribution)


def obj(i, kind, p, colour=None, pc=1.0, x=0, distance=None, speed=None, brakes=None, light=None):
    attributes = {}
    if colour is not None:
        attributes[COLOUR] = attr(COLOUR, colour, pc)
    if brakes is not None:
        attributes[LAMPS] = brakes
    if light is not None:
        attributes[LIGHT] = light
    measures = {k: v for k, v in ((DISTANCE, distance), (SPEED, speed)) if v is not None}
    return GroundedObject(
        id=f"{kind.lower()}-{i}",
        type=attr("type", kind, p),
        bbox=(x, 200, x + 40, 240),
        source="hand",
        attributes=MappingProxyType(attributes),
        measures=MappingProxyType(measures),
    )


SCENE = SceneGraph(
    image_id="hand",
    size=(640, 320),
    attributes=MappingProxyType(
        {
            str(MR.weather): attr(str(MR.weather), "rain", 0.9),
            str(MR.surface): attr(str(MR.surface), "wet", 0.8),
        }
    ),
    objects=(
        obj(0, "Car", 0.9, "red", 0.8, x=10, distance=30.0, speed=15.0, brakes=lamps(False, 0.9)),
        obj(1, "Car", 0.6, "blue", 0.9, x=100, distance=12.5, speed=12.25, brakes=lamps(True, 0.97)),
        obj(2, "Truck", 0.7, "red", 0.5, x=300, brakes=lamps(False, 0.8)),
        obj(3, "Pedestrian", 0.99, x=570),
        obj(0, "TrafficLight", 1.0, x=610, light=attr(LIGHT, "redLight", 0.95)),
    ),
    proposer="hand",
    model="hand",
    regions=(GroundedRegion("crosswalk", str(MR.Crosswalk), "crosswalk", (560, 135, 600, 262)),),
    relations=(Relation("pedestrian-3", str(MR.onCrosswalk), "crosswalk", 1.0),),
)
