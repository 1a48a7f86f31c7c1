"""Training, checkpoints and the refusals of bad input."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from mmreason import (
    InvalidInputError,
    MissingDependencyError,
    MissingFileError,
    ModelLoadError,
    UnknownEntityError,
    UnknownNameError,
)
from mmreason.gnn import LinkPredictor, TrainingConfig, subgraph_training_available, train_link_predictor
from tests.gnn.gnn_helpers import family_triples

FAST = TrainingConfig(dim=16, epochs=40, negatives=8, batch_size=64, lr=0.05, eval_every=10)


def _split(triples, every=7):
    test = triples[::every]
    train = [t for i, t in enumerate(triples) if i % every]
    return train, test


def _three_way(triples, every=7):
    """Training, validation and test triples: early stopping sees the validation split only."""
    test = triples[::every]
    valid = triples[every // 2 :: every]
    train = [t for i, t in enumerate(triples) if i % every not in (0, every // 2)]
    return train, valid, test


@pytest.fixture(scope="module")
def trained() -> LinkPredictor:
    torch.set_num_threads(1)
    train, valid, test = _three_way(family_triples())
    return train_link_predictor(
        train, model="rgcn-distmult", config=FAST, valid=valid, test=test, device="cpu", progress=False
    )


def test_training_learns_the_structure(trained):
    # Random scoring of 30 entities gives an MRR near 0.1; the family rules make most facts predictable.
    assert trained.test_metrics is not None
    assert trained.test_metrics.mrr > 0.4
    assert trained.history and "valid_mrr" in trained.history[0]
    assert trained.calibration.fitted_on.endswith("validation triples")


@pytest.mark.parametrize("model", ["distmult", "complex", "rotate", "rgcn-complex", "rgcn-rotate"])
def test_every_model_trains_and_beats_chance(model):
    train, test = _split(family_triples(4))
    predictor = train_link_predictor(
        train, model=model, config=FAST, epochs=20, valid=[], test=test, device="cpu", progress=False
    )
    assert predictor.test_metrics.mrr > 0.2, predictor.test_metrics


def test_training_is_reproducible_from_the_seed():
    train, _ = _split(family_triples(2))
    a, b = (
        train_link_predictor(
            train, model="rgcn-complex", config=FAST, epochs=3, seed=5, valid=[], device="cpu", progress=False
        )
        for _ in range(2)
    )
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        torch.testing.assert_close(x, y, msg=name)


def test_checkpoint_round_trip(trained, tmp_path):
    path = trained.save(tmp_path / "ckpt")
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.safetensors"]
    loaded = LinkPredictor.load(path, device="cpu")
    triples = family_triples()[:10]
    torch.testing.assert_close(loaded.raw_scores(triples), trained.raw_scores(triples))
    assert loaded.model_id == trained.model_id
    assert loaded.calibration == trained.calibration
    assert loaded.test_metrics == trained.test_metrics
    top = loaded.predict_tails("m0", "parentOf", top_k=3, exclude_known=False)
    assert [p.tail for p in top] == [
        p.tail for p in trained.predict_tails("m0", "parentOf", top_k=3, exclude_known=False)
    ]
    assert all(0.0 <= p.probability <= 1.0 for p in top)


def test_checkpoint_of_another_graph_is_refused(trained, tmp_path):
    path = trained.save(tmp_path / "ckpt")
    other = [*family_triples(3), ("stranger", "married", "m0")]
    with pytest.raises(
        ModelLoadError, match=r"another graph .*only in the checkpoint: .*only in the graph: 'stranger'"
    ):
        LinkPredictor.load(path, device="cpu", graph=other)
    LinkPredictor.load(path, device="cpu", graph=family_triples())  # the same graph passes


@pytest.mark.parametrize(
    ("damage", "error", "match"),
    [
        (lambda p: (p / "model.json").write_text("{"), ModelLoadError, "not a link-predictor description"),
        (lambda p: (p / "model.safetensors").write_bytes(b"\x00" * 10), ModelLoadError, "unreadable weights"),
        (lambda p: (p / "model.safetensors").unlink(), ModelLoadError, "no model.safetensors"),
        (
            lambda p: (p / "model.json").write_text(
                json.dumps({**json.loads((p / "model.json").read_text()), "fingerprint": "x"})
            ),
            ModelLoadError,
            "do not match their fingerprint",
        ),
    ],
)
def test_damaged_checkpoints_are_refused(trained, tmp_path, damage, error, match):
    path = trained.save(tmp_path / "ckpt")
    damage(path)
    with pytest.raises(error, match=match):
        LinkPredictor.load(path, device="cpu")


def test_missing_checkpoint(tmp_path):
    with pytest.raises(MissingFileError, match="link-predictor checkpoint not found"):
        LinkPredictor.load(tmp_path / "nothing")


def test_unseen_entity_or_relation_at_prediction(trained):
    with pytest.raises(
        UnknownEntityError, match=r"entity 'm99' was not seen when the model was trained \(30 known\)"
    ):
        trained.predict_tails("m99", "parentOf")
    with pytest.raises(
        UnknownEntityError, match=r"relation 'parentof' was not seen .*did you mean 'parentOf'"
    ):
        trained.raw_scores([("m0", "parentof", "k0_1")])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kg_or_triples": []}, InvalidInputError, "kg_or_triples has no edges"),
        ({"kg_or_triples": "a r b"}, InvalidInputError, "kg_or_triples must be a KnowledgeGraph or a list"),
        ({"kg_or_triples": [("a", "r")]}, InvalidInputError, r"kg_or_triples\[0\] is \('a', 'r'\)"),
        ({"model": "transe"}, UnknownNameError, "unknown link-prediction model 'transe'"),
        ({"epochs": 0}, InvalidInputError, "epochs must be a positive integer, found 0"),
        ({"batch_mode": "minibatch"}, UnknownNameError, "unknown batch_mode 'minibatch'"),
        ({"model": "distmult", "features": "clip"}, InvalidInputError, "takes no features"),
        ({"features": torch.zeros(2, 3)}, InvalidInputError, r"shape \(2, 3\), expected \(3, F\)"),
        ({"features": "glove"}, UnknownNameError, "unknown feature function 'glove'"),
        ({"valid": [("a", "r", 1, 2)]}, InvalidInputError, r"valid\[0\]"),
        ({"device": "tpu"}, InvalidInputError, "device='tpu' is not a device"),
    ],
)
def test_bad_input_is_refused(kwargs, error, match):
    args = {
        "kg_or_triples": [("a", "r", "b"), ("b", "r", "c")],
        "epochs": 1,
        "valid": [],
        "device": "cpu",
        "progress": False,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        train_link_predictor(args.pop("kg_or_triples"), **args)


@pytest.mark.skipif(subgraph_training_available(), reason="pyg-lib or torch-sparse is installed here")
def test_subgraph_training_names_what_it_needs():
    with pytest.raises(MissingDependencyError, match=r"needs 'pyg-lib' or 'torch-sparse'.*batch_mode='full'"):
        train_link_predictor(
            family_triples(1),
            model="rgcn-distmult",
            epochs=1,
            batch_mode="subgraph",
            valid=[],
            device="cpu",
            progress=False,
        )


@pytest.mark.skipif(not subgraph_training_available(), reason="needs pyg-lib or torch-sparse")
def test_subgraph_training_learns_like_full_batch():
    train, valid, test = _three_way(family_triples())
    predictor = train_link_predictor(
        train,
        model="rgcn-distmult",
        config=FAST,
        batch_mode="subgraph",
        valid=valid,
        test=test,
        device="cpu",
        progress=False,
    )
    assert predictor.test_metrics.mrr > 0.4


@pytest.mark.gpu
def test_training_and_evaluation_on_cuda_match_the_cpu_evaluation():
    train, valid, test = _three_way(family_triples())
    predictor = train_link_predictor(
        train, model="rgcn-complex", config=FAST, valid=valid, test=test, device="cuda", progress=False
    )
    assert predictor.device.type == "cuda"
    assert predictor.test_metrics.mrr > 0.4
    on_cpu = LinkPredictor(
        predictor.model.cpu(), predictor.id_maps, predictor.config, predictor.training_triples.cpu()
    )
    assert on_cpu.evaluate(test).mrr == pytest.approx(predictor.test_metrics.mrr, abs=1e-4)


class _KHopSampler:
    """Stands in for PyG's NeighborSampler where pyg-lib is absent: the whole k-hop neighbourhood."""

    def __init__(self, data, num_neighbors):
        self.data = data
        self.hops = len(num_neighbors)

    def sample_from_nodes(self, inputs):
        from types import SimpleNamespace

        from torch_geometric.utils import k_hop_subgraph

        subset, edge_index, _, edge_mask = k_hop_subgraph(
            inputs.node, self.hops, self.data.edge_index, relabel_nodes=True, num_nodes=self.data.num_nodes
        )
        return SimpleNamespace(
            node=subset, row=edge_index[0], col=edge_index[1], edge=edge_mask.nonzero().view(-1)
        )


def test_subgraph_training_glue_with_a_full_neighbourhood_sampler(monkeypatch):
    # With every neighbour sampled, subgraph encoding must equal the full-graph encoding.
    import torch_geometric.sampler

    import mmreason.gnn.train as train_module

    monkeypatch.setattr(train_module, "subgraph_training_available", lambda: True)
    monkeypatch.setattr(torch_geometric.sampler, "NeighborSampler", _KHopSampler)
    train, valid, test = _three_way(family_triples())
    predictor = train_link_predictor(
        train,
        model="rgcn-distmult",
        config=dataclasses.replace(FAST, training="slcwa"),
        batch_mode="subgraph",
        valid=valid,
        test=test,
        device="cpu",
        progress=False,
    )
    assert predictor.test_metrics.mrr > 0.4
    predictor.model.eval()
    encoder = train_module._SubgraphEncoder(predictor)
    ids = torch.tensor([0, 5, 7])
    with torch.no_grad():
        part, local = encoder.encode(ids)
        torch.testing.assert_close(part[local[ids]], predictor.model.entity_embeddings()[ids])
