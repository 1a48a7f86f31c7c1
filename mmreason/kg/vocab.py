"""The engine's own RDF vocabulary, and the named graphs facts live in.

Worlds name their concepts in their own namespaces (the crossing's is
``mr:``). The engine's own terms, which no world owns, live in ``mm:`` =
``http://mmreason.org/ns#``: a grounded :data:`MM.Scene <MM>` ``mm:depicts``
its objects, facts carry an ``mm:confidence``, ``mm:leftOf`` is read off
boxes, a conditional rule is an ``mm:Rule`` that ``mm:appliesTo`` a class
``mm:when`` a condition holds, a measured property has an ``mm:unit``, and a
concept may give CLIP its own wording with ``mm:prompt``. Facts live in named
graphs so that what was asserted, what an image showed and what a GNN
predicted stay apart: :data:`MR_GRAPHS` holds their IRIs.

>>> MM.Scene
rdflib.term.URIRef('http://mmreason.org/ns#Scene')
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
    "MM",
    "MM_IRI",
    "MR_GRAPHS",
    "PREDICTED_GRAPH",
    "SCENE",
    "STANDARD_PREFIXES",
    "graph_iri",
    "scene_graph_iri",
]

MM_IRI = "http://mmreason.org/ns#"
#: The engine's own terms (``MM.Scene``, ``MM.confidence``, ``MM.leftOf``, ``MM.Rule`` ...).
MM = Namespace(MM_IRI)
#: Where scenes and the objects found in them are minted: ``SCENE["scene-7/car-1"]``.
SCENE = Namespace("http://mmreason.org/scene/")

_GRAPHS = "http://mmreason.org/graphs/"
#: Domain knowledge loaded from files (the ontology, rules, curated facts).
ASSERTED_GRAPH = URIRef(_GRAPHS + "asserted")
#: Facts grounded from images (each with an ``mm:confidence``).
IMAGE_GRAPH = URIRef(_GRAPHS + "image")
#: Facts a GNN predicted (each with a score as ``mm:confidence``).
PREDICTED_GRAPH = URIRef(_GRAPHS + "predicted")
#: The named graphs by kind: ``"asserted"``, ``"image"``, ``"predicted"``.
MR_GRAPHS: MappingProxyType[str, URIRef] = MappingProxyType(
    {"asserted": ASSERTED_GRAPH, "image": IMAGE_GRAPH, "predicted": PREDICTED_GRAPH}
)

#: Prefixes every query may use without declaring them.
STANDARD_PREFIXES: MappingProxyType[str, str] = MappingProxyType(
    {
        "mm": MM_IRI,
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "owl": "http://www.w3.org/2002/07/owl#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
    }
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
