"""The defaults a user gets: per-model batch sizes, and the Kinships figure the benchmark reports."""

from __future__ import annotations

import pytest

from mmreason.gnn import TrainingConfig, train_link_predictor
from tests.gnn.gnn_helpers import family_triples


@pytest.mark.parametrize(
    ("model", "batch_size", "expected"),
    [
        ("complex", None, 256),
        ("distmult", None, 256),
        ("rgcn-distmult", None, 1024),
        ("complex", 32, 32),
        ("rgcn-complex", 32, 32),
    ],
)
def test_batch_size_defaults_to_the_models_and_is_recorded(model, batch_size, expected):
    predictor = train_link_predictor(
        family_triples(1),
        model=model,
        config=TrainingConfig(batch_size=batch_size, dim=4),
        epochs=1,
        valid=[],
        device="cpu",
        progress=False,
    )
    assert predictor.config.batch_size == expected


def test_the_defaults_are_the_documented_ones():
    config = TrainingConfig()
    assert (config.dim, config.epochs, config.lr, config.regularization) == (64, 200, 0.01, 0.002)
    assert (config.batch_size, config.training, config.eval_every, config.patience) == (None, "auto", 10, 5)


def _labelled(factory) -> list[tuple[str, str, str]]:
    entities = {v: k for k, v in factory.entity_to_id.items()}
    relations = {v: k for k, v in factory.relation_to_id.items()}
    return [(entities[h], relations[r], entities[t]) for h, r, t in factory.mapped_triples.tolist()]


@pytest.mark.slow
def test_the_plain_call_reaches_the_documented_kinships_mrr():
    # PyKEEN is an optional extra (bench, test); it ships Kinships offline.
    datasets = pytest.importorskip("pykeen.datasets")
    kinships = datasets.Kinships()
    train, valid, test = (_labelled(f) for f in (kinships.training, kinships.validation, kinships.testing))
    # The call docs/gnn.md shows and bench/gnn.py reports, with nothing tuned.
    predictor = train_link_predictor(
        train, valid=valid, test=test, model="complex", seed=0, device="cpu", progress=False
    )
    assert predictor.config.batch_size == 256
    assert predictor.test_metrics.mrr >= 0.80, predictor.test_metrics
