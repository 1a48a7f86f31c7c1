"""Exact inference by tensor contraction: equal to enumeration, and to pgmpy on networks too big for it."""

from __future__ import annotations

import numpy as np
import pytest

from mmreason import SCM, ImpossibleEvidenceError
from mmreason.causal import discrete


@pytest.fixture()
def contraction(monkeypatch):
    """Force the contraction engine for finite models of any size."""
    monkeypatch.setattr(discrete, "_ENUMERATION_LIMIT", 0)


def _network(name: str):
    import warnings

    from pgmpy.utils import get_example_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_example_model(name)


@pytest.mark.parametrize(
    ("target", "evidence", "do", "counterfactual"),
    [
        ("R", {"W": 1}, None, False),
        ("W", {"C": 1}, {"S": 1}, False),
        ("W", {"S": 1, "W": 1}, {"S": 0}, True),
        ("R", {"W": 0}, {"S": 1}, True),
        ("C", {"W": 1}, {"R": 0}, True),
    ],
)
def test_contraction_equals_enumeration(sprinkler, monkeypatch, target, evidence, do, counterfactual):
    def ask():
        if counterfactual:
            return sprinkler.counterfactual(target, evidence=evidence, do=do)
        return sprinkler.query(target, evidence=evidence, do=do)

    enumerated = ask()
    monkeypatch.setattr(discrete, "_ENUMERATION_LIMIT", 0)
    contracted = ask()
    assert max(abs(enumerated[v] - contracted[v]) for v in enumerated) < 1e-12


def test_contraction_batches_and_soft_evidence(crossing_discrete, monkeypatch):
    rows = [{"Road": "wet"}, {"Light": "red", "Collision": 1}, {"Weather": "rain", "DriverBrakes": 0}, {}]
    soft = {"Weather": {"rain": 0.9, "clear": 0.1}}
    enumerated = crossing_discrete.counterfactual_batch(
        "Collision", evidence=rows, do={"Light": "green"}, soft_evidence=soft
    )
    monkeypatch.setattr(discrete, "_ENUMERATION_LIMIT", 0)
    contracted = crossing_discrete.counterfactual_batch(
        "Collision", evidence=rows, do={"Light": "green"}, soft_evidence=soft
    )
    assert np.allclose(enumerated.probabilities, contracted.probabilities, atol=1e-12)


def test_contraction_reports_impossible_rows(sprinkler, contraction):
    with pytest.raises(ImpossibleEvidenceError, match=r"row 1 \{W=1, S=0, R=0\}"):
        sprinkler.counterfactual_batch("W", evidence=[{"W": 1}, {"S": 0, "R": 0, "W": 1}], do={"C": 0})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "target", "do"),
    [
        ("asia", "dysp", {"smoke": "yes"}),
        ("asia", "xray", {"tub": "yes"}),
        ("child", "Age", {"Disease": "TGA"}),
        ("alarm", "BP", {"CO": "HIGH"}),
        ("alarm", "HRBP", {"ERRLOWOUTPUT": "TRUE"}),
    ],
)
def test_do_queries_on_textbook_networks_equal_pgmpy(name, target, do):
    from pgmpy.inference import CausalInference

    network = _network(name)
    scm = SCM.from_pgmpy(network, name=name, device="cpu")
    ours = scm.query(target, do=do)
    factor = CausalInference(network).query([target], do=do, show_progress=False)
    theirs = dict(zip(factor.state_names[target], factor.values, strict=True))
    assert max(abs(ours[v] - theirs[v]) for v in theirs) < 1e-9


@pytest.mark.slow
def test_counterfactual_on_a_network_too_big_to_enumerate_equals_pgmpy_twin_network():
    from pgmpy.inference import VariableElimination

    from mmreason.causal.interop import twin_network

    network = _network("child")
    scm = SCM.from_pgmpy(network, name="child", device="cpu")
    sizes = [len(e.values) for e in scm.spec.exogenous.values()]
    assert np.prod(sizes, dtype=float) > 1e15  # far beyond enumeration
    do = {"Disease": "TGA"}
    evidence = {"Age": "0-3_days", "LowerBodyO2": "<5"}
    ours = scm.counterfactual("Age", evidence=evidence, do=do)
    twin = twin_network(scm._model, do)
    factor = VariableElimination(twin).query(["Age*"], evidence=evidence, show_progress=False)
    theirs = dict(zip(factor.state_names["Age*"], factor.values, strict=True))
    assert max(abs(ours[v] - theirs[v]) for v in theirs) < 1e-9


def test_from_pgmpy_round_trips(sprinkler):
    again = SCM.from_pgmpy(sprinkler.to_pgmpy(), name="again", device="cpu")
    for name in sprinkler.variables:
        assert np.allclose(again.spec.variables[name].cpd, sprinkler.spec.variables[name].cpd)
    assert again.counterfactual("W", evidence={"W": 1}, do={"S": 0})[1] == pytest.approx(
        sprinkler.counterfactual("W", evidence={"W": 1}, do={"S": 0})[1], abs=1e-12
    )
