"""Exact finite inference: textbook answers, pgmpy as the peer, batches, bad evidence, invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmreason import SCM, ImpossibleEvidenceError, InvalidInputError, UnknownVariableError
from mmreason.causal.interop import twin_network
from tests.causal.conftest import firing_squad_with

# ---------------------------------------------------------------- known answers


def test_sprinkler_textbook_numbers(sprinkler):
    # Russell & Norvig's sprinkler; Pearl (Causality, §1.4) for the do-query.
    assert sprinkler.query("R", evidence={"W": 1})[1] == pytest.approx(0.707928, abs=1e-6)
    assert sprinkler.query("S", evidence={"W": 1})[1] == pytest.approx(0.429764, abs=1e-6)
    assert sprinkler.query("W", evidence={"S": 1})[1] == pytest.approx(0.927, abs=1e-12)
    assert sprinkler.query("W", do={"S": 1})[1] == pytest.approx(0.945, abs=1e-12)


@pytest.mark.parametrize(("p", "q"), [(0.7, 0.2), (0.5, 0.5), (0.1, 0.9), (0.95, 0.01)])
def test_firing_squad_counterfactual(p, q):
    # Pearl, Causality §7.1.2: had A not shot, would the prisoner be dead, given that he is?
    scm = firing_squad_with(p, q)
    answer = scm.counterfactual("D", evidence={"D": 1}, do={"A": 0})
    assert answer[1] == pytest.approx(p / (1 - (1 - p) * (1 - q)), abs=1e-12)
    assert sum(answer.values()) == pytest.approx(1.0, abs=1e-12)


def test_firing_squad_bundled_file(firing_squad):
    assert firing_squad.counterfactual("D", evidence={"D": 1}, do={"A": 0})[1] == pytest.approx(0.7 / 0.76)
    # Pearl's other two questions: B shoots had A not; C's order stays in the counterfactual.
    assert firing_squad.counterfactual("B", evidence={"D": 1}, do={"A": 0})[1] == pytest.approx(0.7 / 0.76)
    assert firing_squad.query("D", do={"A": 1})[1] == pytest.approx(1.0)


def test_soft_evidence_is_virtual_evidence_by_hand(sprinkler):
    # P(R=1 | soft C) = Σ_c P(c) L(c) P(R=1|c) / Σ_c P(c) L(c)
    likelihood = {0: 0.2, 1: 0.8}
    by_hand = (0.5 * 0.2 * 0.2 + 0.5 * 0.8 * 0.8) / (0.5 * 0.2 + 0.5 * 0.8)
    assert sprinkler.query("R", soft_evidence={"C": likelihood})[1] == pytest.approx(by_hand, abs=1e-12)
    # A flat likelihood changes nothing; hard evidence is the one-hot likelihood.
    assert sprinkler.query("R", soft_evidence={"C": {0: 3, 1: 3}})[1] == pytest.approx(0.5)
    assert sprinkler.query("R", soft_evidence={"C": {1: 1.0}})[1] == pytest.approx(0.8)


UNLINKED = """
name = "unlinked"
[variables.X]
domain = [0, 1]
cpd = [0.3, 0.7]
[variables.Y]
domain = [0, 1]
parents = ["X"]
[variables.Y.cpd]
"X=0" = [0.9, 0.1]
"X=1" = [0.2, 0.8]
[variables.Z]
domain = [0, 1]
cpd = [0.6, 0.4]
[variables.C]
domain = [0, 1]
equation = "X == 1 and Z == 1"
[variables.W]
domain = [0, 1]
parents = ["Z"]
[variables.W.cpd]
"Z=0" = [0.5, 0.5]
"Z=1" = [0.1, 0.9]
[variables.V]
domain = [0, 1]
equation = "Z == 1 and Z == 0"
"""


def test_soft_evidence_that_shares_nothing_with_the_query_changes_nothing():
    scm = SCM.from_toml(UNLINKED, device="cpu")
    # W depends on Z only, so a likelihood on W is a constant factor for Y: P(Y=1) = .3·.1 + .7·.8.
    assert scm.query("Y", soft_evidence={"W": {0: 0.1, 1: 0.9}})[1] == pytest.approx(0.59, abs=1e-12)
    # Soft evidence on C (a child of X) is linked: virtual evidence by hand.
    lc = {0: 0.2, 1: 0.9}
    p_c1_given_x = {0: 0.0, 1: 0.4}
    joint = {
        x: px * sum(lc[c] * (p_c1_given_x[x] if c else 1 - p_c1_given_x[x]) for c in (0, 1))
        for x, px in ((0, 0.3), (1, 0.7))
    }
    by_hand = (joint[0] * 0.1 + joint[1] * 0.8) / (joint[0] + joint[1])
    both = scm.query("Y", soft_evidence={"C": lc, "W": {0: 0.1, 1: 0.9}})[1]
    # With a likelihood on the collider C, Z and so W are linked to X: W's likelihood now counts.
    lw = {0: 0.1, 1: 0.9}
    p_w1 = {0: 0.5, 1: 0.9}
    total = numerator = 0.0
    for x, px in ((0, 0.3), (1, 0.7)):
        for z, pz in ((0, 0.6), (1, 0.4)):
            c = int(x == 1 and z == 1)
            weight = px * pz * lc[c] * (lw[1] * p_w1[z] + lw[0] * (1 - p_w1[z]))
            total += weight
            numerator += weight * (0.8 if x else 0.1)
    assert both == pytest.approx(numerator / total, abs=1e-12)
    assert scm.query("Y", soft_evidence={"C": lc})[1] == pytest.approx(by_hand, abs=1e-12)
    # Unlinked soft evidence that no world satisfies (V is always 0) is still refused.
    with pytest.raises(ImpossibleEvidenceError):
        scm.query("Y", soft_evidence={"V": {0: 0.0, 1: 1.0}})


def test_cpd_counterfactual_uses_the_comonotone_coupling(sprinkler):
    # W=1 with S=1, R=0: u_W >= .1; had S been 0 (R=0) W would be 0 whatever u_W.
    assert sprinkler.counterfactual("W", evidence={"S": 1, "R": 0, "W": 1}, do={"S": 0})[1] == 0.0
    # With R=1: W=1 under S=1 means u_W >= .01; under S=0 it needs u_W >= .1, so .9/.99.
    answer = sprinkler.counterfactual("W", evidence={"S": 1, "R": 1, "W": 1}, do={"S": 0})
    assert answer[1] == pytest.approx(0.9 / 0.99, abs=1e-12)


# ---------------------------------------------------------------- pgmpy as the peer


def _pgmpy_do(network, target, do, evidence=None):
    from pgmpy.inference import CausalInference

    factor = CausalInference(network).query([target], do=do, evidence=evidence, show_progress=False)
    return dict(zip(factor.state_names[target], factor.values, strict=True))


@pytest.mark.parametrize(
    ("target", "do", "evidence"),
    [
        ("W", {"S": 1}, None),
        ("W", {"S": 0}, None),
        ("W", {"R": 1}, None),
        ("W", {"S": 1}, {"C": 1}),
        ("W", {"C": 1}, None),
    ],
)
def test_do_queries_equal_pgmpy_causal_inference(sprinkler, target, do, evidence):
    ours = sprinkler.query(target, do=do, evidence=evidence)
    theirs = _pgmpy_do(sprinkler.to_pgmpy(), target, do, evidence)
    for value in ours:
        assert ours[value] == pytest.approx(theirs[value], abs=1e-9)


def test_crossing_discrete_do_queries_equal_pgmpy(crossing_discrete):
    network = crossing_discrete.to_pgmpy()
    for target, do in [
        ("Collision", {"Light": "red"}),
        ("Collision", {"Road": "wet"}),
        ("StopsInTime", {"Weather": "rain"}),
        ("Road", {"DriverBrakes": 1}),
    ]:
        ours = crossing_discrete.query(target, do=do)
        theirs = _pgmpy_do(network, target, do)
        assert max(abs(ours[v] - theirs[v]) for v in ours) < 1e-9


def test_to_pgmpy_sums_private_noise_into_cpds(firing_squad):
    network = firing_squad.to_pgmpy()
    cpd = network.get_cpds("A").get_values()  # columns C=0, C=1
    assert np.allclose(cpd, [[0.8, 0.0], [0.2, 1.0]])
    assert set(network.nodes) == {"C", "A", "B", "D"}


@pytest.mark.parametrize(
    ("target", "evidence", "do"),
    [
        ("W", {"W": 1, "S": 1}, {"S": 0}),
        ("R", {"W": 0}, {"S": 1}),
        ("W", {"C": 1, "W": 1}, {"R": 0}),
    ],
)
def test_counterfactuals_equal_pgmpy_twin_network(sprinkler, target, evidence, do):
    from pgmpy.inference import VariableElimination

    network = twin_network(sprinkler._model, do)
    node = target + "*" if f"{target}*" in network.nodes else target
    factor = VariableElimination(network).query([node], evidence=evidence, show_progress=False)
    theirs = dict(zip(factor.state_names[node], factor.values, strict=True))
    ours = sprinkler.counterfactual(target, evidence=evidence, do=do)
    assert max(abs(ours[v] - theirs[v]) for v in ours) < 1e-9


# ---------------------------------------------------------------- batches


def test_batch_equals_one_at_a_time(crossing_discrete):
    rng = np.random.default_rng(0)
    names = ["Weather", "Road", "Light", "DriverBrakes", "Collision"]
    rows = []
    for _ in range(30):
        row = {}
        for name in names:
            if rng.random() < 0.6:
                domain = crossing_discrete.domain(name)
                row[name] = domain[rng.integers(len(domain))]
        rows.append(row)
    possible = []
    for row in rows:
        try:
            single = crossing_discrete.counterfactual("Collision", evidence=row, do={"Light": "green"})
        except ImpossibleEvidenceError:
            continue
        possible.append((row, single))
    batch = crossing_discrete.counterfactual_batch(
        "Collision", evidence=[row for row, _ in possible], do={"Light": "green"}
    )
    assert len(batch) == len(possible) > 12
    for (_, single), batched in zip(possible, batch, strict=True):
        assert batched[1] == pytest.approx(single[1], abs=1e-12)
    frame = pd.DataFrame([row for row, _ in possible])  # NaN marks the unobserved
    again = crossing_discrete.counterfactual_batch("Collision", evidence=frame, do={"Light": "green"})
    assert np.allclose(again.probabilities, batch.probabilities, atol=1e-12)


def test_impossible_evidence_is_an_error_not_nan(sprinkler):
    with pytest.raises(ImpossibleEvidenceError, match=r"probability 0 under the model: \{S=0, R=0, W=1\}"):
        sprinkler.query("C", evidence={"S": 0, "R": 0, "W": 1})
    rows = [{"W": 1}, {"S": 0, "R": 0, "W": 1}, {"S": 1}]
    with pytest.raises(ImpossibleEvidenceError, match=r"row 1 \{W=1, S=0, R=0\}"):
        sprinkler.counterfactual_batch("W", evidence=rows, do={"C": 0})


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda s: s.query("WW"),
            UnknownVariableError,
            r"variable 'WW' is not in the model; did you mean 'W'",
        ),
        (
            lambda s: s.query("W", evidence={"X": 1}),
            UnknownVariableError,
            r"'X' is not in the model \(evidence\)",
        ),
        (
            lambda s: s.query("W", do={"S": 2}),
            InvalidInputError,
            r"do\['S'\] = 2 is not in the domain of 'S': \[0, 1\]",
        ),
        (
            lambda s: s.query("W", evidence={"S": "on"}),
            InvalidInputError,
            r"'on' is not in the domain of 'S': \[0, 1\]",
        ),
        (
            lambda s: s.query("W", do={"S": 1}, evidence={"S": 0}),
            InvalidInputError,
            r"do and evidence disagree on 'S' in one world",
        ),
        (lambda s: s.counterfactual("W", evidence={"S": 1}, do={}), InvalidInputError, r"needs do="),
        (
            lambda s: s.query("W", soft_evidence={"C": {2: 1.0}}),
            InvalidInputError,
            r"names 2, not in the domain",
        ),
        (lambda s: s.query("W", soft_evidence={"C": {0: -1}}), InvalidInputError, r"non-negative"),
        (
            lambda s: s.query("W", soft_evidence={"C": {0: 0, 1: 0}}),
            InvalidInputError,
            r"every value likelihood 0",
        ),
        (
            lambda s: s.counterfactual_batch("W", evidence=[{"S": 1}, {"S": 5}], do={"C": 1}),
            InvalidInputError,
            r"evidence\['S'\] = 5 in row 1 is not in the domain of 'S': \[0, 1\]",
        ),
        (lambda s: s.query("W", samples=0), InvalidInputError, r"samples must be a positive integer"),
        (lambda s: s.query("U_W"), UnknownVariableError, r"'U_W' is exogenous"),
    ],
)
def test_bad_queries_name_the_problem(sprinkler, call, error, match):
    with pytest.raises(error, match=match):
        call(sprinkler)


def test_do_agreeing_with_evidence_is_allowed(sprinkler):
    assert sprinkler.query("W", do={"S": 1}, evidence={"S": 1})[1] == pytest.approx(0.945)


# ---------------------------------------------------------------- properties

probability = st.floats(min_value=0.01, max_value=0.99)


def _random_sprinkler(ps: list[float]) -> SCM:
    c, s0, s1, r0, r1, w00, w01, w10, w11 = ps
    text = f"""
[variables.C]
domain = [0, 1]
cpd = [{1 - c}, {c}]
[variables.S]
domain = [0, 1]
parents = ["C"]
[variables.S.cpd]
"C=0" = [{1 - s0}, {s0}]
"C=1" = [{1 - s1}, {s1}]
[variables.R]
domain = [0, 1]
parents = ["C"]
[variables.R.cpd]
"C=0" = [{1 - r0}, {r0}]
"C=1" = [{1 - r1}, {r1}]
[variables.W]
domain = [0, 1]
parents = ["S", "R"]
[variables.W.cpd]
"S=0, R=0" = [{1 - w00}, {w00}]
"S=0, R=1" = [{1 - w01}, {w01}]
"S=1, R=0" = [{1 - w10}, {w10}]
"S=1, R=1" = [{1 - w11}, {w11}]
"""
    return SCM.from_toml(text, device="cpu")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(probability, min_size=9, max_size=9), st.sampled_from(["C", "S", "R", "W"]), st.integers(0, 1)
)
def test_do_never_changes_non_descendants(ps, intervened, value):
    scm = _random_sprinkler(ps)
    descendants = {"C": {"S", "R", "W"}, "S": {"W"}, "R": {"W"}, "W": set()}[intervened]
    for target in scm.variables:
        if target == intervened or target in descendants:
            continue
        assert scm.query(target, do={intervened: value})[1] == pytest.approx(scm.query(target)[1], abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(probability, min_size=9, max_size=9),
    st.dictionaries(st.sampled_from(["C", "S", "R", "W"]), st.integers(0, 1), max_size=3),
    st.sampled_from(["C", "S", "R", "W"]),
)
def test_distributions_sum_to_one(ps, evidence, target):
    scm = _random_sprinkler(ps)
    for answer in (
        scm.query(target, evidence=evidence),
        scm.counterfactual(target, evidence=evidence, do={"S": 1}),
        scm.query(target, soft_evidence={"C": {0: ps[0], 1: ps[1]}}),
    ):
        assert sum(answer.values()) == pytest.approx(1.0, abs=1e-12)
        assert all(0.0 <= p <= 1.0 for p in answer.values())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(probability, min_size=9, max_size=9))
def test_exact_probabilities_of_causation_lie_within_tian_pearl_bounds(ps):
    scm = _random_sprinkler(ps)
    result = scm.probabilities_of_causation(cause=("S", 1), effect=("W", 1))
    assert result.pns in result.pns_bounds
    assert result.pn is None or result.pn in result.pn_bounds
    assert result.ps is None or result.ps in result.ps_bounds


def test_probabilities_of_causation_firing_squad(firing_squad):
    result = firing_squad.probabilities_of_causation(cause=("A", 1), effect=("D", 1))
    # A=1, D=1: had A not shot, D dies iff the court ordered (U=1): PN = 1 - P(U=1 | A=1).
    p_u_given_a = 0.7 / (0.7 + 0.3 * 0.2)
    assert result.pn == pytest.approx(1 - p_u_given_a)
    # PNS = P(D_{A=1}=1, D_{A=0}=0) = P(U=0) = 0.3; PS = P(D_{A=1}=1 | A=0, D=0) = 1.
    assert result.pns == pytest.approx(0.3)
    assert result.ps == pytest.approx(1.0)
    assert not result.coupling_dependent


def test_probability_of_causation_bounds_from_data(sprinkler):
    observational = sprinkler.sample(200_000, seed=1)
    experimental = pd.concat(
        [sprinkler.sample(100_000, seed=2, do={"S": 1}), sprinkler.sample(100_000, seed=3, do={"S": 0})]
    )
    from_data = sprinkler.probabilities_of_causation(
        cause=("S", 1), effect=("W", 1), observational=observational, experimental=experimental
    )
    exact = sprinkler.probabilities_of_causation(cause=("S", 1), effect=("W", 1))
    assert from_data.source == "data" and from_data.pn is None
    for name in ("pn_bounds", "ps_bounds", "pns_bounds"):
        ours, truth = getattr(from_data, name), getattr(exact, name)
        assert ours.lower == pytest.approx(truth.lower, abs=0.03)
        assert ours.upper == pytest.approx(truth.upper, abs=0.03)


def test_exogenous_enumeration_covers_all_cells(sprinkler):
    # Σ over every joint exogenous value of its prior is 1 and every world is distinct.
    values, prior = sprinkler._model.enumerate_exogenous(sprinkler.device)
    assert float(prior.sum()) == pytest.approx(1.0, abs=1e-12)
    keys = set(zip(*[v.tolist() for v in values.values()], strict=True))
    assert len(keys) == len(prior) == np.prod([len(e.values) for e in sprinkler.spec.exogenous.values()])
    assert len(list(itertools.islice(keys, 3))) == 3


def test_integer_domains_in_arithmetic():
    scm = SCM.from_toml(
        """
[variables.X]
domain = [0, 1, 2]
cpd = [0.2, 0.3, 0.5]
[variables.Y]
domain = [0, 2, 4]
equation = "X * 2"
[variables.Z]
domain = [0, 1]
equation = "X / 2 >= 0.5 and not X == 2"
[exogenous.N]
distribution = "normal"
mean = 0.0
std = 1.0
[variables.R]
type = "real"
equation = "X / 4 + N"
""",
        device="cpu",
    )
    assert dict(scm.query("Y")) == pytest.approx({0: 0.2, 2: 0.3, 4: 0.5})
    assert scm.query("Z")[1] == pytest.approx(0.3)
    assert scm.query("R", do={"X": 2}, samples=20_000).mean() == pytest.approx(0.5, abs=0.03)
    units = scm.sample(200, seed=1)
    assert (units["Y"] == 2 * units["X"]).all()
    assert np.allclose(units["R"], units["X"] / 4 + units["N"])
