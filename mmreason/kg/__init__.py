"""The RDF knowledge graph: one API over rdflib memory, an Oxigraph store and a SPARQL endpoint.

>>> from mmreason.kg import KnowledgeGraph
>>> from mmreason.worlds.crossing import MR
>>> kg = KnowledgeGraph.open()
>>> kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
>>> MR.car1 in kg.instances_of(MR.RoadUser)
False
>>> [str(row["label"]) for row in kg.query("SELECT ?label WHERE { ?c rdfs:label ?label }", c=MR.Pedestrian)]
['pedestrian']
"""

from __future__ import annotations

from mmreason.kg.graph import SCHEMES, GraphLike, KnowledgeGraph
from mmreason.kg.pyg import KGIndex
from mmreason.kg.vocab import (
    ASSERTED_GRAPH,
    IMAGE_GRAPH,
    MM,
    MR_GRAPHS,
    PREDICTED_GRAPH,
    SCENE,
    graph_iri,
    scene_graph_iri,
)
from mmreason.paths import bundled_graphs_dir

__all__ = [
    "ASSERTED_GRAPH",
    "IMAGE_GRAPH",
    "MM",
    "MR_GRAPHS",
    "PREDICTED_GRAPH",
    "SCENE",
    "SCHEMES",
    "GraphLike",
    "KGIndex",
    "KnowledgeGraph",
    "bundled_graphs_dir",
    "graph_iri",
    "scene_graph_iri",
]
