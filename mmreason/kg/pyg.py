"""A knowledge graph as PyTorch Geometric tensors, with stable id maps both ways.

Nodes are the IRIs that occur as subject or object of a triple whose object is
an IRI; relations are the predicates of those triples. Both are numbered in
sorted IRI order, so the same graph gives the same ids on every backend and
in every run. Literal-valued triples are not edges: ``rdfs:label`` values come
back in :attr:`KGIndex.labels` (GNN node features, CLIP prompts). Triples with
blank nodes are left out, since blank-node labels are not stable across stores.

>>> from rdflib import RDF, RDFS, Literal, Namespace
>>> from mmreason.kg import KnowledgeGraph
>>> EX = Namespace("http://example.org/city#")
>>> kg = KnowledgeGraph.open()
>>> kg.add([(EX.car1, RDF.type, EX.Car), (EX.Car, RDFS.label, Literal("car"))])
>>> data, index = kg.to_pyg()
>>> data.edge_index.tolist(), data.edge_type.tolist()
([[1], [0]], [0])
>>> index.entities[1], index.labels[0]
(rdflib.term.URIRef('http://example.org/city#car1'), 'car')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from mmreason.errors import UnknownNameError
from mmreason.kg.terms import sparql_term

if TYPE_CHECKING:
    from torch import Tensor

    from mmreason.kg.graph import KnowledgeGraph

__all__ = ["KGIndex", "to_pyg"]


@dataclass(frozen=True, slots=True)
class KGIndex:
    """Ids ↔ IRIs for the nodes and relations of a :func:`to_pyg` graph."""

    entities: tuple[URIRef, ...]
    relations: tuple[URIRef, ...]
    labels: tuple[str | None, ...]  # rdfs:label per entity id, None where there is none
    graphs: tuple[URIRef, ...] | None  # the named graphs read; None: all of them
    _entity_ids: dict[URIRef, int] = field(repr=False, compare=False, default_factory=dict)
    _relation_ids: dict[URIRef, int] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._entity_ids.update({iri: i for i, iri in enumerate(self.entities)})
        self._relation_ids.update({iri: i for i, iri in enumerate(self.relations)})

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    def entity_id(self, iri: URIRef | str) -> int:
        """The node id of an IRI."""
        try:
            return self._entity_ids[URIRef(iri)]
        except KeyError:
            raise UnknownNameError("entity", str(iri), map(str, self.entities[:50])) from None

    def relation_id(self, iri: URIRef | str) -> int:
        """The relation id of a predicate IRI."""
        try:
            return self._relation_ids[URIRef(iri)]
        except KeyError:
            raise UnknownNameError("relation", str(iri), map(str, self.relations)) from None

    def entity(self, i: int) -> URIRef:
        """The IRI of node ``i``."""
        return self.entities[int(i)]

    def relation(self, i: int) -> URIRef:
        """The IRI of relation ``i``."""
        return self.relations[int(i)]

    def triples(self, edge_index: Tensor, edge_type: Tensor) -> list[tuple[URIRef, URIRef, URIRef]]:
        """Edges (``edge_index`` [2, E], ``edge_type`` [E]) back to IRI triples."""
        heads, tails = edge_index.tolist()
        return [
            (self.entities[h], self.relations[r], self.entities[t])
            for h, r, t in zip(heads, edge_type.tolist(), tails, strict=True)
        ]


def to_pyg(kg: KnowledgeGraph, *, graphs: Sequence[URIRef | None] | None = None) -> tuple[Any, KGIndex]:
    """The IRI → IRI triples of ``kg`` as a ``torch_geometric.data.Data``.

    Args:
        kg: the knowledge graph.
        graphs: read only these named graphs (``None`` in the list: the default graph);
            all of them when not given.

    Returns:
        ``(data, index)``: ``data.edge_index`` [2, E] long (head, tail ids),
        ``data.edge_type`` [E] long (relation ids), ``data.num_nodes``; the
        :class:`KGIndex` maps ids to IRIs and back. Each distinct triple is one edge,
        in (head, relation, tail) order.
    """
    import torch
    from torch_geometric.data import Data

    if graphs is None:
        rows = kg.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isIRI(?s) && isIRI(?o)) }")
    else:
        rows = []
        named = [g for g in graphs if g is not None]
        if named:
            values = " ".join(sparql_term(g, name="graph") for g in named)
            rows += kg.query(
                f"SELECT ?s ?p ?o WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} "
                "FILTER(isIRI(?s) && isIRI(?o)) }"
            )
        if None in graphs:
            # The default graph as stored: everything outside the named graphs.
            rows += kg.query(
                "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isIRI(?s) && isIRI(?o)) "
                "FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
            )
    triples = sorted({(row["s"], row["p"], row["o"]) for row in rows})
    entities = tuple(sorted({s for s, _, _ in triples} | {o for _, _, o in triples}))
    relations = tuple(sorted({p for _, p, _ in triples}))
    labels = kg.labels()
    index = KGIndex(
        entities=entities,
        relations=relations,
        labels=tuple(labels.get(e) for e in entities),
        graphs=None if graphs is None else tuple(g for g in graphs if g is not None),
    )
    ent, rel = index._entity_ids, index._relation_ids
    edge_index = torch.tensor(
        [[ent[s] for s, _, _ in triples], [ent[o] for _, _, o in triples]], dtype=torch.long
    ).reshape(2, len(triples))
    edge_type = torch.tensor([rel[p] for _, p, _ in triples], dtype=torch.long)
    data = Data(edge_index=edge_index, edge_type=edge_type, num_nodes=len(entities))
    return data, index
