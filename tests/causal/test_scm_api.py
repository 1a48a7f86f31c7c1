"""The SCM facade: result types, graph, simulation, devices."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch

import mmreason
from mmreason import (
    DeviceUnavailableError,
    DiscreteDistribution,
    DistributionBatch,
    InvalidInputError,
    SampleDistribution,
)


def test_facade_exports():
    for name in ("SCM", "Distribution", "DiscreteDistribution", "SampleDistribution", "DistributionBatch",
                 "EffectEstimate", "CausationResult"):  # fmt: skip
        assert name in mmreason.__all__


def test_discrete_distribution_is_a_mapping(sprinkler):
    answer = sprinkler.query("W", do={"S": 1})
    assert isinstance(answer, DiscreteDistribution)
    assert dict(answer) == pytest.approx({0: 0.055, 1: 0.945})
    assert list(answer) == [0, 1] and len(answer) == 2
    assert answer.mode() == 1
    assert answer.mean() == pytest.approx(0.945)
    assert answer.quantile(0.01) == 0 and answer.quantile(0.5) == 1
    assert answer.query == "P(W | do(S=1))"
    with pytest.raises(KeyError, match=r"2 is not a value of 'W'"):
        answer[2]
    with pytest.raises(InvalidInputError, match="q must lie in"):
        answer.quantile(1.5)


def test_string_domains_have_no_mean(crossing_discrete):
    answer = crossing_discrete.query("Road", evidence={"Weather": "rain"})
    assert answer["wet"] == pytest.approx(0.95 * 0.9 + 0.98 * 0.1)
    with pytest.raises(InvalidInputError, match="non-numeric values"):
        answer.mean()


def test_sample_distribution_summaries():
    d = SampleDistribution("X", np.array([3.0, 1.0, 2.0, 4.0]), np.array([0.25, 0.25, 0.25, 0.25]))
    assert d.mean() == pytest.approx(2.5)
    assert d.quantile(0.5) == 2.0 and d.quantile(1.0) == 4.0 and d.quantile(0.0) == 1.0
    assert d.std() == pytest.approx(np.std([1, 2, 3, 4]))
    assert d.probability(2.0, 4.0) == pytest.approx(0.5)
    assert not d.exact and d.effective_sample_size == pytest.approx(4.0)


def test_batch_is_a_sequence(sprinkler):
    rows = pd.DataFrame({"S": [1, 1, 0], "W": [1, 0, np.nan]})
    batch = sprinkler.counterfactual_batch("W", evidence=rows, do={"S": 0})
    assert isinstance(batch, DistributionBatch) and len(batch) == 3
    assert batch.probabilities.shape == (3, 2)
    assert np.allclose(batch.probabilities.sum(axis=1), 1.0)
    assert [d[1] for d in batch[0:2]] == [batch[0][1], batch[1][1]]
    assert batch[-1][1] == batch[2][1]
    assert np.allclose(batch.means(), batch.probabilities[:, 1])
    with pytest.raises(IndexError):
        batch[3]


def test_query_batch_equals_single_queries(sprinkler):
    rows = [{"W": 1}, {"W": 0, "C": 1}, {}]
    batch = sprinkler.query_batch("R", evidence=rows)
    for row, answer in zip(rows, batch, strict=True):
        assert answer[1] == pytest.approx(sprinkler.query("R", evidence=row)[1], abs=1e-12)


def test_graph_is_a_fresh_networkx_digraph(sprinkler):
    graph = sprinkler.graph
    assert isinstance(graph, nx.DiGraph)
    assert set(graph.edges) == {("C", "S"), ("C", "R"), ("S", "W"), ("R", "W")}
    graph.remove_node("C")
    assert "C" in sprinkler.graph
    assert sprinkler.graph.nodes["W"]["mechanism"] == "cpd"


def test_sample_is_seeded_and_has_every_column(sprinkler):
    a = sprinkler.sample(1000, seed=3)
    b = sprinkler.sample(1000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["C", "S", "R", "W", "U_C", "U_S", "U_R", "U_W"]
    assert a["W"].dtype == np.int64
    assert not a.equals(sprinkler.sample(1000, seed=4))
    # Frequencies follow the CPDs.
    big = sprinkler.sample(100_000, seed=5)
    assert big["W"].mean() == pytest.approx(sprinkler.query("W")[1], abs=0.01)


def test_firing_squad_sample_under_do(firing_squad):
    units = firing_squad.sample(500, seed=0)
    spared = firing_squad.sample(noise=units, do={"A": 0})
    # A=0 leaves D to B, which follows the court order U.
    assert (spared["D"] == units["U"]).all()
    assert (spared["C"] == units["C"]).all()


def test_device_setting(sprinkler):
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
            sprinkler.query("W", device="cuda")
    assert sprinkler.query("W", device="cpu")[1] == pytest.approx(sprinkler.query("W")[1])


@pytest.mark.gpu
def test_gpu_batch_equals_cpu(crossing_discrete):
    rows = [{"Road": "wet"}, {"Light": "red", "Collision": 1}, {"Weather": "rain", "DriverBrakes": 0}]
    cpu = crossing_discrete.counterfactual_batch(
        "Collision", evidence=rows, do={"Light": "green"}, device="cpu"
    )
    gpu = crossing_discrete.counterfactual_batch(
        "Collision", evidence=rows, do={"Light": "green"}, device="cuda"
    )
    assert np.allclose(cpu.probabilities, gpu.probabilities, atol=1e-12)


def test_discrete_part_sums_out_the_real_block(crossing_discrete):
    spec = crossing_discrete.spec
    assert crossing_discrete.is_discrete
    assert spec.variables["StopsInTime"].parents == ("Road", "DriverBrakes")
    # Without braking the car never stops in time.
    assert np.allclose(spec.variables["StopsInTime"].cpd[[0, 2], 1], 0.0)


def test_repr_and_labels(sprinkler, linear):
    assert "sprinkler" in repr(sprinkler)
    cf = sprinkler.counterfactual("W", evidence={"S": 1}, do={"S": 0})
    assert cf.query == "P(W_{S=0} | S=1)"
    point = linear.counterfactual("Y", evidence={"X": 2.0, "Z": 3.0, "Y": 5.0}, do={"X": 0.0})
    assert "exactly -5" in repr(point)


def test_empty_batch(sprinkler, linear):
    assert len(sprinkler.counterfactual_batch("W", evidence=pd.DataFrame({"S": []}), do={"S": 0})) == 0
    assert (
        len(linear.counterfactual_batch("Y", evidence=pd.DataFrame({"X": []}, dtype=float), do={"X": 0.0}))
        == 0
    )
