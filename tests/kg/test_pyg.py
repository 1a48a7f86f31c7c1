"""KG → PyG tensors: hand-checked ids, the way back to IRIs, and ids that do not depend on order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import RDFS, Literal, URIRef

from mmreason.errors import UnknownNameError
from mmreason.kg import KnowledgeGraph

E = "http://example.org/"
A, B, C = URIRef(E + "a"), URIRef(E + "b"), URIRef(E + "c")
KNOWS, LIKES = URIRef(E + "knows"), URIRef(E + "likes")


def test_known_ids_and_edges() -> None:
    kg = KnowledgeGraph.open()
    kg.add([(B, KNOWS, C), (A, LIKES, C), (A, KNOWS, B), (A, RDFS.label, Literal("ann"))])
    kg.add([(C, LIKES, A)], graph="predicted")
    data, index = kg.to_pyg()
    assert index.entities == (A, B, C)
    assert index.relations == (KNOWS, LIKES)
    assert index.labels == ("ann", None, None)
    # Sorted (head, relation, tail): (a knows b), (a likes c), (b knows c), (c likes a).
    assert data.edge_index.tolist() == [[0, 0, 1, 2], [1, 2, 2, 0]]
    assert data.edge_type.tolist() == [0, 1, 0, 1]
    assert data.num_nodes == 3
    assert index.entity_id(C) == 2 and index.relation_id(LIKES) == 1
    assert index.entity(1) == B and index.relation(0) == KNOWS
    assert index.triples(data.edge_index, data.edge_type)[3] == (C, LIKES, A)
    with pytest.raises(UnknownNameError, match="entity"):
        index.entity_id(URIRef(E + "zzz"))

    asserted, asserted_index = kg.to_pyg(graphs=["asserted"])
    assert asserted.edge_index.size(1) == 3 and asserted_index.graphs is not None
    predicted, predicted_index = kg.to_pyg(graphs=["predicted"])
    assert predicted_index.triples(predicted.edge_index, predicted.edge_type) == [(C, LIKES, A)]


def test_empty_graph() -> None:
    data, index = KnowledgeGraph.open().to_pyg()
    assert tuple(data.edge_index.shape) == (2, 0) and index.num_entities == 0


TRIPLES = st.lists(
    st.tuples(st.sampled_from([A, B, C]), st.sampled_from([KNOWS, LIKES]), st.sampled_from([A, B, C])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None)
@given(TRIPLES, st.randoms())
def test_ids_do_not_depend_on_insertion_order(triples, rng) -> None:
    first = KnowledgeGraph.open()
    first.add(triples)
    shuffled = list(triples)
    rng.shuffle(shuffled)
    second = KnowledgeGraph.open()
    second.add(shuffled)
    (d1, i1), (d2, i2) = first.to_pyg(), second.to_pyg()
    assert i1.entities == i2.entities and i1.relations == i2.relations
    assert d1.edge_index.tolist() == d2.edge_index.tolist() and d1.edge_type.tolist() == d2.edge_type.tolist()
    assert sorted(i1.triples(d1.edge_index, d1.edge_type)) == sorted(set(triples))
