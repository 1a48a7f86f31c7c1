"""Filtered ranking: hand-computed ranks on three entities, and agreement with PyKEEN's evaluator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmreason import InvalidInputError, UnknownEntityError
from mmreason.gnn import RankingMetrics
from mmreason.gnn.evaluate import KnownAnswers, filtered_ranks, triple_keys
from mmreason.gnn.interactions import DISTMULT
from tests.gnn.gnn_helpers import hand_predictor

ENTITIES = {"a": [1.0, 2.0], "b": [3.0, -1.0], "c": [0.0, 1.0]}
RELATIONS = {"r": [2.0, 1.0]}


def test_filtered_ranks_by_hand():
    # Tails of (a, r, ?): a 6, b 4, c 2. The true tail b is second; the known (a, r, a) is filtered: rank 1.
    # Heads of (?, r, b) score h·(r∘b) = h·(6, -1): a 4, b 19, c -1. b is not a known head: rank 2.
    predictor = hand_predictor("distmult", ENTITIES, RELATIONS, train=[("a", "r", "a")])
    metrics = predictor.evaluate([("a", "r", "b")])
    assert metrics == RankingMetrics(
        mrr=0.75, hits_at_1=0.5, hits_at_3=1.0, hits_at_10=1.0, mean_rank=1.5, num_triples=1
    )
    raw = predictor.evaluate([("a", "r", "b")], filtered=False)
    assert (raw.mrr, raw.mean_rank, raw.filtered) == (0.5, 2.0, False)


def test_filter_triples_are_removed_from_the_candidates():
    # With (b, r, b) also known, the head b is filtered too and both ranks are 1.
    predictor = hand_predictor("distmult", ENTITIES, RELATIONS, train=[("a", "r", "a")])
    metrics = predictor.evaluate([("a", "r", "b")], filter_triples=[("b", "r", "b")])
    assert metrics.mrr == 1.0


def test_ties_get_the_realistic_rank():
    # Entities b and c equal: for (a, r, b), tails a 6, b 4, c 4: optimistic 2, pessimistic 3, realistic 2.5.
    entities = {"a": [1.0, 2.0], "b": [3.0, -1.0], "c": [3.0, -1.0]}
    predictor = hand_predictor("distmult", entities, RELATIONS, train=[])
    entity_emb = predictor.model.entity_embeddings()
    ranks = filtered_ranks(
        entity_emb,
        predictor.model.relation_embeddings(),
        DISTMULT.score_tails,
        DISTMULT.score_heads,
        torch.tensor([[0, 0, 1]]),
        known=None,
        num_relations=1,
    )
    # Heads of (?, r, b): a 4, b 19, c 19: optimistic 3, pessimistic 3.
    assert ranks.tolist() == [2.5, 3.0]


def test_unseen_names_and_empty_input_are_refused():
    predictor = hand_predictor("distmult", ENTITIES, RELATIONS, train=[])
    with pytest.raises(
        UnknownEntityError, match=r"entity 'd' was not seen .* \(3 entitys known\)|entity 'd'"
    ):
        predictor.evaluate([("a", "r", "d")])
    with pytest.raises(
        UnknownEntityError, match=r"entity 'd' was not seen when the model was trained \(3 known\)"
    ):
        predictor.evaluate([("a", "r", "d")])
    with pytest.raises(UnknownEntityError, match=r"relation 'rr' was not seen.*did you mean 'r'"):
        predictor.evaluate([("a", "rr", "b")])
    with pytest.raises(InvalidInputError, match="at least one triple"):
        predictor.evaluate([])
    with pytest.raises(InvalidInputError, match=r"triples\[0\] is \('a', 'r'\)"):
        predictor.evaluate([("a", "r")])


def test_triple_keys_are_unique_per_triple():
    triples = torch.cartesian_prod(torch.arange(3), torch.arange(2), torch.arange(3))
    assert torch.unique(triple_keys(triples, 3, 2)).numel() == triples.shape[0]


def _to_pykeen_layout(x: torch.Tensor, is_complex: bool) -> torch.Tensor:
    # PyKEEN stores complex vectors interleaved (re0, im0, re1, im1, ...); ours are [re ‖ im].
    if not is_complex:
        return x
    half = x.shape[1] // 2
    return torch.stack([x[:, :half], x[:, half:]], dim=-1).reshape(x.shape[0], -1)


@pytest.mark.slow
@pytest.mark.parametrize("decoder", ["distmult", "complex"])
def test_filtered_metrics_equal_pykeen_rank_based_evaluator(decoder):
    pykeen_models = pytest.importorskip("pykeen.models")
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.triples import TriplesFactory

    from mmreason.gnn import IdMaps, LinkPredictor, TrainingConfig
    from mmreason.gnn.kge import KGEDecoderModel

    rng = np.random.default_rng(0)
    n, r = 30, 4
    triples = {
        (f"e{h}", f"r{k}", f"e{t}")
        for h, k, t in zip(
            rng.integers(0, n, 400), rng.integers(0, r, 400), rng.integers(0, n, 400), strict=True
        )
    }
    triples = sorted(triples)
    train, test = triples[:300], triples[300:]
    maps = IdMaps.from_triples(train, test)
    torch.manual_seed(1)
    model = KGEDecoderModel(decoder, num_entities=maps.num_entities, num_relations=maps.num_relations, dim=4)
    with torch.no_grad():
        # Round weights to a coarse grid so that some scores tie exactly on both sides.
        for p in model.parameters():
            p.copy_(torch.round(p * 4) / 4)
    ours = LinkPredictor(model, maps, TrainingConfig(model=decoder, dim=4), maps.encode(train))
    metrics = ours.evaluate(test)

    factory = TriplesFactory.from_labeled_triples(
        np.array(train),
        entity_to_id={e: i for i, e in enumerate(maps.entities)},
        relation_to_id={k: i for i, k in enumerate(maps.relations)},
    )
    peer_class = {"distmult": pykeen_models.DistMult, "complex": pykeen_models.ComplEx}[decoder]
    peer = peer_class(triples_factory=factory, embedding_dim=4, random_seed=0)
    is_complex = decoder == "complex"
    with torch.no_grad():
        peer.entity_representations[0]._embeddings.weight.copy_(
            _to_pykeen_layout(model.entity_embeddings(), is_complex)
        )
        peer.relation_representations[0]._embeddings.weight.copy_(
            _to_pykeen_layout(model.relation_embeddings(), is_complex)
        )
    result = RankBasedEvaluator(filtered=True).evaluate(
        peer,
        maps.encode(test),
        additional_filter_triples=[maps.encode(train)],
        batch_size=64,
        use_tqdm=False,
    )
    assert metrics.mrr == pytest.approx(
        result.get_metric("both.realistic.inverse_harmonic_mean_rank"), abs=1e-6
    )
    assert metrics.hits_at_10 == pytest.approx(result.get_metric("both.realistic.hits_at_10"), abs=1e-6)
    assert metrics.hits_at_1 == pytest.approx(result.get_metric("both.realistic.hits_at_1"), abs=1e-6)
    assert metrics.mean_rank == pytest.approx(
        result.get_metric("both.realistic.arithmetic_mean_rank"), abs=1e-6
    )


@settings(max_examples=40, deadline=None)
@given(
    known=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, 4)), max_size=30),
    queries=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2)), min_size=1, max_size=6),
)
def test_known_answer_masks_equal_brute_force(known, queries):
    n, r = 5, 3
    triples = torch.tensor(known, dtype=torch.long).reshape(-1, 3)
    tail_side, head_side = KnownAnswers.of(triples, r)
    q = torch.tensor(queries)
    tails = tail_side.mask(q[:, 0] * r + q[:, 1], n)
    heads = head_side.mask(q[:, 0] * r + q[:, 1], n)  # here (tail, relation) queries
    for row, (a, rel) in enumerate(queries):
        for e in range(n):
            assert bool(tails[row, e]) == ((a, rel, e) in known)
            assert bool(heads[row, e]) == ((e, rel, a) in known)


def test_predictions_by_hand_with_and_without_known_triples():
    # Tails of (a, r, ?): a 6, b 4, c 2; the known (a, r, a) is left out unless asked for.
    predictor = hand_predictor("distmult", ENTITIES, RELATIONS, train=[("a", "r", "a")])
    assert [p.tail for p in predictor.predict_tails("a", "r", top_k=3)] == ["b", "c"]
    assert [p.tail for p in predictor.predict_tails("a", "r", top_k=3, exclude_known=False)] == [
        "a",
        "b",
        "c",
    ]
    # Heads of (?, r, b): b 19, a 4, c -1.
    assert [(p.head, p.score) for p in predictor.predict_heads("r", "b", top_k=2)] == [
        ("b", 19.0),
        ("a", 4.0),
    ]
    empty = hand_predictor("distmult", ENTITIES, RELATIONS, train=[])
    assert len(empty.predict_tails("a", "r", top_k=5)) == 3
    with pytest.raises(InvalidInputError, match="top_k must be a positive integer"):
        empty.predict_tails("a", "r", top_k=0)
