"""The RDF vocabulary of the bundled world, "the crossing".

One namespace, ``mr:`` = ``http://mmreason.org/crossing#``, names every class,
property and individual of the domain ontology (``graphs/crossing.ttl``).
Facts live in named graphs so that what was asserted, what an image showed
and what a GNN predicted stay apart: :data:`MR_GRAPHS` holds their IRIs.

>>> MR.Car
rdflib.term.URIRef('http://mmreason.org/crossing#Car')
>>> graph_iri("image")
rdflib.term.URIRef('http://mmreason.org/graphs/image')
>>> scene_graph_iri("scene-7")
rdflib.term.URIRef('http://mmreason.org/graphs/image/scene-7')
"""

from __future__ import annotations

from types import MappingProxyType
from urllib.parse import quote

from rdflib import Namespace, URIRef

from mmreason.errors import UnknownNameError

__all__ = [
    "ASSERTED_GRAPH",
    "IMAGE_GRAPH",
    "MR",
    "MR_GRAPHS",
    "MR_IRI",
    "PREDICTED_GRAPH",
    "SCENE",
    "STANDARD_PREFIXES",
    "graph_iri",
    "scene_graph_iri",
]

MR_IRI = "http://mmreason.org/crossing#"
#: The namespace of the crossing ontology: ``MR.Car``, ``MR.colour``, ``MR.redLight``.
MR = Namespace(MR_IRI)
#: Where scenes and the objects found in them are minted: ``SCENE["scene-7/car-1"]``.
SCENE = Namespace("http://mmreason.org/scene/")

_GRAPHS = "http://mmreason.org/graphs/"
#: Domain knowledge loaded from files (the ontology, rules, curated facts).
ASSERTED_GRAPH = URIRef(_GRAPHS + "asserted")
#: Facts grounded from images (each with an ``mr:confidence``).
IMAGE_GRAPH = URIRef(_GRAPHS + "image")
#: Facts a GNN predicted (each with a score as ``mr:confidence``).
PREDICTED_GRAPH = URIRef(_GRAPHS + "predicted")
#: The named graphs by kind: ``"asserted"``, ``"image"``, ``"predicted"``.
MR_GRAPHS: MappingProxyType[str, URIRef] = MappingProxyType(
    {"asserted": ASSERTED_GRAPH, "image": IMAGE_GRAPH, "predicted": PREDICTED_GRAPH}
)

#: Prefixes every query may use without declaring them.
STANDARD_PREFIXES: MappingProxyType[str, str] = MappingProxyType(
    {
        "mr": MR_IRI,
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "owl": "http://www.w3.org/2002/07/owl#",
    }
)

# Classes, properties and individuals of the ontology, listed for reference and
# checked against graphs/crossing.ttl by the tests.
CLASSES = (
    "SceneObject",
    "RoadUser",
    "Vehicle",
    "Car",
    "Truck",
    "Bus",
    "VulnerableRoadUser",
    "Pedestrian",
    "TrafficLight",
    "Crosswalk",
    "Road",
    "Scene",
    "Colour",
    "Weather",
    "RoadSurface",
    "LightState",
    "BrakeLightState",
    "Action",
    "FrictionLevel",
    "TrafficRule",
)
PROPERTIES = (
    "colour",
    "weather",
    "surface",
    "lightState",
    "depicts",
    "leftOf",
    "onCrosswalk",
    "distanceToCrosswalk",
    "speed",
    "brakeLights",
    "confidence",
    "requires",
    "appliesTo",
    "when",
    "mustYieldTo",
    "isSlippery",
    "friction",
    "typicalFriction",
    "causes",
)
INDIVIDUALS = (
    "red",
    "blue",
    "green",
    "yellow",
    "white",
    "black",
    "orange",
    "silver",
    "clear",
    "cloudy",
    "rain",
    "dry",
    "wet",
    "redLight",
    "yellowLight",
    "greenLight",
    "brakeLightsOn",
    "brakeLightsOff",
    "stop",
    "prepareToStop",
    "mayGo",
    "yieldToPedestrians",
    "lowFriction",
    "normalFriction",
    "redLightRule",
    "yellowLightRule",
    "greenLightRule",
    "crosswalkRule",
)


def graph_iri(kind: str) -> URIRef:
    """The IRI of the named graph for one kind of fact.

    Args:
        kind: ``"asserted"``, ``"image"`` or ``"predicted"``.

    Raises:
        UnknownNameError: ``kind`` is not one of them.

    >>> graph_iri("predicted")
    rdflib.term.URIRef('http://mmreason.org/graphs/predicted')
    """
    try:
        return MR_GRAPHS[kind]
    except KeyError:
        raise UnknownNameError("graph kind", kind, MR_GRAPHS) from None


def scene_graph_iri(scene_id: str) -> URIRef:
    """The IRI of the named graph that holds the facts grounded from one image.

    The id is percent-encoded, so any string gives a valid IRI under
    :data:`IMAGE_GRAPH`.

    >>> scene_graph_iri("a b")
    rdflib.term.URIRef('http://mmreason.org/graphs/image/a%20b')
    """
    return URIRef(f"{IMAGE_GRAPH}/{quote(str(scene_id), safe='-_.~')}")
