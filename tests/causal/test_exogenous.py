"""Exogenous targets: the posterior of a noise term, by hand, against pgmpy, and through every engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmreason import SCM, ImpossibleEvidenceError, InvalidInputError, UnknownVariableError
from mmreason.causal import discrete
from tests.causal.conftest import firing_squad_with

# The firing squad of graphs/firing_squad.scm.toml: U ~ B(p) the court order, W ~ B(q) the
# nervous rifleman; C = U, A = C or W, B = C, D = A or B.
P, Q = 0.7, 0.2
# D = 1 iff U = 1 or W = 1: P(D=1) = 1 - (1 - p)(1 - q) = 1 - 0.3 * 0.8 = 0.76.
P_DEATH = 1 - (1 - P) * (1 - Q)

SEASONS = """
[exogenous.Season]
distribution = "categorical"
values = ["winter", "spring", "summer"]
probs = [0.5, 0.3, 0.2]
[exogenous.N]
distribution = "bernoulli"
p = 0.1
[variables.Cold]
domain = [0, 1]
equation = 'Season == "winter" or N'
"""

# X = U_X, Y = X + U_Y with U_X, U_Y ~ N(0, 1).
GAUSSIAN_PAIR = """
[exogenous.U_X]
distribution = "normal"
mean = 0.0
std = 1.0
[exogenous.U_Y]
distribution = "normal"
mean = 0.0
std = 1.0
[variables.X]
type = "real"
equation = "U_X"
[variables.Y]
type = "real"
equation = "X + U_Y"
"""

# A finite CPD feeding a real variable: Road's response noise U_Road is enumerated by its
# two cells, Speed = U_Speed - 2 on a wet road with U_Speed ~ Uniform(8, 17).
ROAD_SPEED = """
[exogenous.U_Speed]
distribution = "uniform"
low = 8.0
high = 17.0
[variables.Road]
domain = ["dry", "wet"]
cpd = [0.7, 0.3]
[variables.Speed]
type = "real"
equation = 'U_Speed + (-2.0 if Road == "wet" else 0.0)'
"""


@pytest.fixture(scope="module")
def seasons() -> SCM:
    return SCM.from_toml(SEASONS, device="cpu")


@pytest.fixture(scope="module")
def gaussian_pair() -> SCM:
    return SCM.from_toml(GAUSSIAN_PAIR, device="cpu")


@pytest.fixture(scope="module")
def road_speed() -> SCM:
    return SCM.from_toml(ROAD_SPEED, device="cpu")


# ---------------------------------------------------------------- known answers, finite noise


@pytest.mark.parametrize(
    ("target", "evidence", "do", "expected"),
    [
        # D = 1 holds whenever U = 1: P(U=1 | D=1) = p / P(D=1) = 0.7 / 0.76.
        ("U", {"D": 1}, None, P / P_DEATH),
        # Likewise for W: P(W=1 | D=1) = q / P(D=1) = 0.2 / 0.76.
        ("W", {"D": 1}, None, Q / P_DEATH),
        # A = U or W has the law of D: P(W=1 | A=1) = 0.2 / 0.76.
        ("W", {"A": 1}, None, Q / P_DEATH),
        # D = 0 needs U = 0.
        ("U", {"D": 0}, None, 0.0),
        # No evidence: the prior.
        ("U", {}, None, P),
        ("W", {}, None, Q),
        # do(A=0) leaves B = C = U, so B = 1 still tells U = 1.
        ("U", {"B": 1}, {"A": 0}, 1.0),
        # Under do(A=0), D = B = U: D = 1 still tells U = 1 (P(D=1 | do(A=0)) = p > 0) ...
        ("U", {"D": 1}, {"A": 0}, 1.0),
        # ... but no longer says anything about W, which only reached D through A.
        ("W", {"D": 1}, {"A": 0}, Q),
        # do(C=1) cuts U from every observed variable: its prior.
        ("U", {"D": 1}, {"C": 1}, P),
    ],
)
def test_firing_squad_noise_posteriors(firing_squad, target, evidence, do, expected):
    answer = firing_squad.query(target, evidence=evidence, do=do)
    assert answer.domain == (0, 1)
    assert answer[1] == pytest.approx(expected, abs=1e-6)
    assert answer[0] == pytest.approx(1 - expected, abs=1e-6)


def test_court_order_given_death_is_0_921053(firing_squad):
    assert firing_squad.query("U", evidence={"D": 1})[1] == pytest.approx(0.921053, abs=1e-6)


def test_evidence_impossible_under_the_intervention_is_refused(firing_squad):
    # do(A=1) makes D = 1 in every world: D = 0 cannot be observed there.
    with pytest.raises(ImpossibleEvidenceError, match=r"probability 0 under the model: \{D=0\}"):
        firing_squad.query("U", evidence={"D": 0}, do={"A": 1})


def test_soft_evidence_informs_noise(firing_squad):
    # Likelihood 0.9 for D=1, 0.1 for D=0. U=1: p * 0.9 = 0.63. U=0: D = W, so
    # (1 - p) * (q * 0.9 + (1 - q) * 0.1) = 0.3 * 0.26 = 0.078. P(U=1) = 0.63 / 0.708.
    answer = firing_squad.query("U", soft_evidence={"D": {1: 0.9, 0: 0.1}})
    assert answer[1] == pytest.approx(0.63 / 0.708, abs=1e-12)


def test_categorical_noise_has_its_values(seasons):
    # Cold = 1 iff winter or N = 1: P(Cold=1) = 0.5 + 0.5 * 0.1 = 0.55, and
    # P(winter, Cold=1) = 0.5, P(spring, Cold=1) = 0.3 * 0.1, P(summer, Cold=1) = 0.2 * 0.1.
    answer = seasons.query("Season", evidence={"Cold": 1})
    assert answer.domain == ("winter", "spring", "summer")
    assert answer["winter"] == pytest.approx(0.5 / 0.55, abs=1e-12)
    assert answer["spring"] == pytest.approx(0.03 / 0.55, abs=1e-12)
    assert answer["summer"] == pytest.approx(0.02 / 0.55, abs=1e-12)
    # Cold = 0 rules winter out and keeps the odds of spring to summer: 0.3 : 0.2.
    assert dict(seasons.query("Season", evidence={"Cold": 0})) == pytest.approx(
        {"winter": 0.0, "spring": 0.6, "summer": 0.4}, abs=1e-12
    )


def test_domain_answers_for_noise(firing_squad, seasons, gaussian_pair, road_speed):
    assert firing_squad.domain("U") == (0, 1)
    assert firing_squad.domain("W") == (0, 1)
    assert seasons.domain("Season") == ("winter", "spring", "summer")
    assert gaussian_pair.domain("U_X") is None
    assert road_speed.domain("U_Speed") is None  # uniform
    assert road_speed.domain("U_Road") is None  # the Uniform(0, 1) response noise behind a CPD


# ---------------------------------------------------------------- counterfactuals and batches


@pytest.mark.parametrize("do", [{"A": 0}, {"A": 1}, {"C": 0}, {"B": 1, "A": 0}])
@pytest.mark.parametrize(("target", "evidence"), [("U", {"D": 1}), ("W", {"D": 1}), ("W", {"B": 0, "D": 1})])
def test_counterfactual_noise_is_the_factual_posterior(firing_squad, target, evidence, do):
    # Both worlds of the twin network share U and W, so no do in the counterfactual world moves them.
    counterfactual = firing_squad.counterfactual(target, evidence=evidence, do=do)
    factual = firing_squad.query(target, evidence=evidence)
    assert counterfactual.probabilities == pytest.approx(factual.probabilities, abs=1e-12)


def test_batches_of_noise_queries(firing_squad):
    rows = pd.DataFrame({"D": [1, 0, None], "B": [None, None, 1]})
    batch = firing_squad.query_batch("U", evidence=rows)
    # Row 0: P(U=1 | D=1) = 0.7 / 0.76; row 1: D = 0 needs U = 0; row 2: B = U.
    expected = [[1 - P / P_DEATH, P / P_DEATH], [1.0, 0.0], [0.0, 1.0]]
    assert np.allclose(batch.probabilities, expected, atol=1e-12)
    counterfactual = firing_squad.counterfactual_batch("U", evidence=rows, do={"A": 0})
    assert np.allclose(counterfactual.probabilities, expected, atol=1e-12)


@pytest.mark.parametrize(
    ("target", "evidence", "do", "counterfactual"),
    [
        ("U", {"D": 1}, None, False),
        ("W", {"A": 1}, None, False),
        ("W", {"D": 1}, {"A": 0}, False),
        ("U", {"D": 1}, {"C": 1}, False),
        ("U", {}, None, False),
        ("W", {"D": 1}, {"A": 0}, True),
    ],
)
def test_contraction_equals_enumeration(firing_squad, monkeypatch, target, evidence, do, counterfactual):
    def ask():
        if counterfactual:
            return firing_squad.counterfactual(target, evidence=evidence, do=do)
        return firing_squad.query(target, evidence=evidence, do=do)

    enumerated = ask()
    monkeypatch.setattr(discrete, "_ENUMERATION_LIMIT", 0)
    contracted = ask()
    assert contracted.probabilities == pytest.approx(enumerated.probabilities, abs=1e-12)


def test_contraction_of_categorical_noise(seasons, monkeypatch):
    enumerated = seasons.query("Season", evidence={"Cold": 1})
    monkeypatch.setattr(discrete, "_ENUMERATION_LIMIT", 0)
    assert seasons.query("Season", evidence={"Cold": 1}).probabilities == pytest.approx(
        enumerated.probabilities, abs=1e-12
    )


# ---------------------------------------------------------------- pgmpy as the peer


def _pgmpyfiring_squad_with():
    """The firing squad with U and W as root nodes and deterministic CPDs below them."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    network = DiscreteBayesianNetwork(
        [("U", "C"), ("C", "A"), ("W", "A"), ("C", "B"), ("A", "D"), ("B", "D")]
    )
    identity = [[1, 0], [0, 1]]
    # Columns: parent configurations, last parent fastest: (0, 0), (0, 1), (1, 0), (1, 1).
    either = [[1, 0, 0, 0], [0, 1, 1, 1]]
    network.add_cpds(
        TabularCPD("U", 2, [[1 - P], [P]]),
        TabularCPD("W", 2, [[1 - Q], [Q]]),
        TabularCPD("C", 2, identity, evidence=["U"], evidence_card=[2]),
        TabularCPD("B", 2, identity, evidence=["C"], evidence_card=[2]),
        TabularCPD("A", 2, either, evidence=["C", "W"], evidence_card=[2, 2]),
        TabularCPD("D", 2, either, evidence=["A", "B"], evidence_card=[2, 2]),
    )
    network.check_model()
    return network


@pytest.mark.parametrize(("target", "evidence"), [("U", {"D": 1}), ("W", {"A": 1}), ("W", {"D": 1, "B": 0})])
def test_noise_posteriors_equal_pgmpy_variable_elimination(firing_squad, target, evidence):
    from pgmpy.inference import VariableElimination

    factor = VariableElimination(_pgmpyfiring_squad_with()).query(
        [target], evidence=evidence, show_progress=False
    )
    ours = firing_squad.query(target, evidence=evidence)
    assert ours.probabilities == pytest.approx(tuple(factor.values), abs=1e-12)


# ---------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    p=st.floats(0.01, 0.99),
    q=st.floats(0.01, 0.99),
    observed=st.sampled_from(["C", "A", "B", "D"]),
)
def test_posteriors_average_back_to_the_prior(p, q, observed):
    # Law of total probability: Σ_v P(U=1 | X=v) P(X=v) = P(U=1) = p, and the same for W.
    scm = firing_squad_with(p, q)
    marginal = scm.query(observed)
    rows = [{observed: value} for value in marginal.domain]
    for noise, prior in (("U", p), ("W", q)):
        posteriors = scm.query_batch(noise, evidence=rows).probabilities  # [2, 2]
        assert np.allclose(posteriors.sum(axis=1), 1.0, atol=1e-12)
        assert float(np.dot(marginal.probabilities, posteriors[:, 1])) == pytest.approx(prior, abs=1e-12)


# ---------------------------------------------------------------- continuous noise


def test_gaussian_noise_posterior_mean(gaussian_pair):
    # Y = U_X + U_Y: (U_X, Y) is jointly normal with Var Y = 2, Cov(U_X, Y) = 1, so
    # U_X | Y = y ~ N(y / 2, 1 / 2). Y pins U_Y = y - U_X in each world; U_X itself is drawn
    # from its prior and weighted by the density of U_Y there (likelihood weighting), so the
    # answer is an estimate: 20,000 draws, effective sample size ~11,000, standard error ~0.007.
    answer = gaussian_pair.query("U_X", evidence={"Y": 1.6}, samples=20_000, seed=0)
    assert not answer.exact
    assert answer.mean() == pytest.approx(0.8, abs=0.03)
    assert answer.std() == pytest.approx(np.sqrt(0.5), abs=0.03)


@pytest.mark.parametrize(
    ("target", "evidence", "do", "expected"),
    [
        # X = U_X is additive noise alone: observing X recovers it exactly.
        ("U_X", {"X": 0.3}, None, 0.3),
        # U_Y = Y - X.
        ("U_Y", {"X": 0.3, "Y": 1.6}, None, 1.3),
        # Under do(X=0.5), Y = 0.5 + U_Y, so Y = 1.6 gives U_Y = 1.1.
        ("U_Y", {"Y": 1.6}, {"X": 0.5}, 1.1),
    ],
)
def test_noise_pinned_by_evidence_is_exact(gaussian_pair, target, evidence, do, expected):
    answer = gaussian_pair.query(target, evidence=evidence, do=do)
    assert answer.exact
    assert answer.mean() == pytest.approx(expected, abs=1e-12)


def test_counterfactual_real_noise_is_the_factual_posterior(gaussian_pair):
    answer = gaussian_pair.counterfactual("U_Y", evidence={"X": 0.3, "Y": 1.6}, do={"X": 5.0})
    assert answer.exact
    assert answer.mean() == pytest.approx(1.3, abs=1e-12)


def test_real_noise_batch_mixes_pinned_and_prior_rows(gaussian_pair):
    batch = gaussian_pair.query_batch("U_X", evidence=[{"X": 0.3}, {"X": None}], samples=5000, seed=0)
    assert batch[0].exact and batch[0].mean() == pytest.approx(0.3, abs=1e-12)
    # Row 1 observes nothing: U_X's N(0, 1) prior, standard error 1 / sqrt(5000) ~ 0.014.
    assert batch[1].mean() == pytest.approx(0.0, abs=0.06)
    assert batch[1].std() == pytest.approx(1.0, abs=0.05)


def test_uniform_noise_in_a_mixed_model(road_speed):
    # Speed = 12.5 pins U_Speed = 12.5 on a dry road and 14.5 on a wet one; both lie in
    # [8, 17], where the density is 1/9 either way, so the road keeps its prior 0.7 : 0.3.
    answer = road_speed.query("U_Speed", evidence={"Speed": 12.5})
    assert answer.mean() == pytest.approx(0.7 * 12.5 + 0.3 * 14.5, abs=1e-12)
    assert answer.probability(14.0, 15.0) == pytest.approx(0.3, abs=1e-12)
    # Speed = 16 on a wet road would need U_Speed = 18 > 17: only the dry road is left.
    answer = road_speed.query("U_Speed", evidence={"Speed": 16.0})
    assert answer.exact
    assert answer.mean() == pytest.approx(16.0, abs=1e-12)
    # Knowing the road pins the noise outright.
    assert road_speed.query("U_Speed", evidence={"Speed": 12.5, "Road": "wet"}).mean() == pytest.approx(
        14.5, abs=1e-12
    )


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda s: s.query("UU"),
            UnknownVariableError,
            r"variable 'UU' is not in the model; did you mean 'U'",
        ),
        (
            lambda s: s.domain("WW"),
            UnknownVariableError,
            r"variable 'WW' is not in the model; did you mean 'W'",
        ),
        (
            lambda s: s.query("D", evidence={"U": 1}),
            UnknownVariableError,
            r"'U' is not in the model \(evidence\); 'U' is exogenous",
        ),
        (lambda s: s.query("U", do={"U": 0}), UnknownVariableError, r"'U' is not in the model \(do\)"),
        (
            lambda s: s.counterfactual("U", evidence={"D": 1}, do={"A": 2}),
            InvalidInputError,
            r"do\['A'\] = 2 is not in the domain of 'A'",
        ),
    ],
)
def test_bad_noise_queries_name_the_problem(firing_squad, call, error, match):
    with pytest.raises(error, match=match):
        call(firing_squad)


def test_unknown_target_lists_noise_among_the_known_names(firing_squad):
    with pytest.raises(UnknownVariableError) as caught:
        firing_squad.query("Z")
    assert set(caught.value.known) == {"C", "A", "B", "D", "U", "W"}


def test_response_noise_is_not_a_target(sprinkler):
    # U_W only exists to drive W's CPD; its value depends on the coupling chosen for it.
    with pytest.raises(
        UnknownVariableError, match=r"'U_W' is exogenous: the response noise behind the cpd of 'W'"
    ):
        sprinkler.query("U_W", evidence={"W": 1})
