"""Fact completion: predicted facts with calibrated scores go to the predicted graph only."""

from __future__ import annotations

import pytest
import torch
from rdflib import URIRef

from mmreason import InvalidInputError, ModelLoadError, UnknownEntityError
from mmreason.gnn import TrainingConfig, train_link_predictor
from mmreason.gnn.complete import complete, model_iri, predicted_facts
from mmreason.kg import ASSERTED_GRAPH, PREDICTED_GRAPH, KnowledgeGraph
from mmreason.worlds.crossing import MR

FAST = TrainingConfig(dim=16, epochs=60, lr=0.05, eval_every=10)


def _family_kg(num_families: int = 6) -> tuple[KnowledgeGraph, list[tuple[URIRef, URIRef, URIRef]]]:
    """Married couples (both directions); one direction of some couples is held out."""
    kg = KnowledgeGraph.open()
    facts, held = [], []
    for f in range(num_families):
        a, b = MR[f"wife{f}"], MR[f"husband{f}"]
        facts.append((a, MR.marriedTo, b))
        (held if f % 3 == 0 else facts).append((b, MR.marriedTo, a))
        facts.append((a, MR.livesWith, b))
        facts.append((b, MR.livesWith, a))
    kg.add(facts)
    return kg, held


@pytest.fixture(scope="module")
def kg_and_predictor():
    torch.set_num_threads(1)
    kg, held = _family_kg()
    predictor = train_link_predictor(
        kg, model="distmult", config=FAST, valid=[], device="cpu", progress=False
    )
    return kg, held, predictor


def test_complete_writes_scored_facts_to_the_predicted_graph_only(kg_and_predictor):
    kg, held, predictor = kg_and_predictor
    before = set(kg.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", g=ASSERTED_GRAPH))
    completion = complete(kg, predictor, top_k=1, min_score=0.3)
    assert completion.graph == str(PREDICTED_GRAPH)
    assert completion.facts, "the model should be confident about the held-out symmetric facts"
    # Held-out facts come back (DistMult is symmetric, and the training has the other direction).
    assert {tuple(map(str, h)) for h in held} <= completion.triples()
    assert all(0.3 <= f.score <= 1.0 and f.model_id == predictor.model_id for f in completion.facts)
    after = set(kg.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", g=ASSERTED_GRAPH))
    assert after == before, "asserted facts must not change"
    stored = predicted_facts(kg)
    assert {(f.head, f.relation, f.tail) for f in stored} == completion.triples()
    assert [f.score for f in stored] == pytest.approx([f.score for f in completion.facts], abs=1e-6)
    assert {f.model_id for f in stored} == {predictor.model_id}
    assert kg.ask(
        "ASK { GRAPH ?g { ?st <http://www.w3.org/ns/prov#wasGeneratedBy> ?m } }",
        g=PREDICTED_GRAPH,
        m=URIRef(model_iri(predictor.model_id)),
    )


def test_known_facts_are_never_predicted_again(kg_and_predictor):
    kg, _, predictor = kg_and_predictor
    completion = complete(kg, predictor, top_k=5, min_score=0.0, write=False)
    asserted = {
        (str(s), str(p), str(o))
        for s, p, o in kg.construct(
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", g=ASSERTED_GRAPH
        )
    }
    assert not completion.triples() & asserted
    assert completion.graph is None


def test_completing_twice_is_idempotent(kg_and_predictor):
    kg, _, predictor = kg_and_predictor
    complete(kg, predictor, top_k=1, min_score=0.3)
    size = len(kg)
    complete(kg, predictor, top_k=1, min_score=0.3)
    assert len(kg) == size


def test_training_ignores_the_predicted_graph(kg_and_predictor):
    kg, _, predictor = kg_and_predictor
    complete(kg, predictor, top_k=1, min_score=0.3)
    again = train_link_predictor(
        kg, model="distmult", config=FAST, epochs=1, valid=[], device="cpu", progress=False
    )
    assert again.id_maps == predictor.id_maps
    assert again.training_triples.shape == predictor.training_triples.shape


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"top_k": 0}, InvalidInputError, "top_k must be a positive integer, found 0"),
        ({"min_score": 1.5}, InvalidInputError, r"min_score must be a probability in \[0, 1\], found 1.5"),
        (
            {"relations": ["http://nowhere/rel"]},
            UnknownEntityError,
            "relation 'http://nowhere/rel' was not seen",
        ),
    ],
)
def test_bad_arguments_are_refused(kg_and_predictor, kwargs, error, match):
    kg, _, predictor = kg_and_predictor
    with pytest.raises(error, match=match):
        complete(kg, predictor, **kwargs)


def test_a_predictor_of_another_graph_is_refused(kg_and_predictor):
    _, _, predictor = kg_and_predictor
    other = KnowledgeGraph.open()
    other.add([(MR.car1, MR.colour, MR.red), (MR.car2, MR.colour, MR.blue)])
    with pytest.raises(ModelLoadError, match="trained on another graph: only 0 of the 2 facts"):
        complete(other, predictor)


def test_writing_needs_a_knowledge_graph():
    triples = [("a", "r", "b"), ("b", "r", "a"), ("c", "r", "d")]
    predictor = train_link_predictor(
        triples, model="distmult", epochs=2, dim=4, valid=[], device="cpu", progress=False
    )
    with pytest.raises(InvalidInputError, match="needs a KnowledgeGraph"):
        complete(triples, predictor)
    assert complete(triples, predictor, min_score=0.0, write=False).facts


def test_a_graph_with_only_literals_has_no_edges_to_train_on():
    from rdflib import RDFS, Literal

    kg = KnowledgeGraph.open()
    kg.add([(MR.Car, RDFS.label, Literal("car")), (MR.Bus, RDFS.label, Literal("bus"))])
    with pytest.raises(InvalidInputError, match="kg_or_triples has no edges"):
        train_link_predictor(kg, model="distmult", epochs=1, device="cpu", progress=False)


def test_a_checkpoint_trained_on_a_kg_loads_against_that_kg(tmp_path):
    from mmreason.gnn import LinkPredictor

    kg, _ = _family_kg(8)
    predictor = train_link_predictor(
        kg,
        model="rgcn-distmult",
        config=FAST,
        epochs=5,
        device="cpu",
        progress=False,
        checkpoint=tmp_path / "ckpt",
    )
    assert predictor.valid_metrics is not None, "valid=None holds out 10% of a graph this size"
    loaded = LinkPredictor.load(tmp_path / "ckpt", device="cpu", graph=kg)
    assert loaded.model_id == predictor.model_id
    kg.add([(MR.wife0, MR.knows, MR.stranger)])
    with pytest.raises(ModelLoadError, match=r"only in the graph: 'http://mmreason\.org/crossing#stranger'"):
        LinkPredictor.load(tmp_path / "ckpt", device="cpu", graph=kg)
