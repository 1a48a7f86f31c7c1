"""Real-valued and mixed SCMs: exact abduction, DoWhy gcm as the peer, the simulator's ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmreason import ImpossibleEvidenceError, InvalidInputError, SampleDistribution


def test_linear_gaussian_full_evidence_counterfactual_by_hand(linear):
    # X = 1 + N_X, Z = 2X + N_Z, Y = 3Z - X + N_Y. Seeing X=2, Z=3, Y=5 pins
    # N_X = 1, N_Z = -1, N_Y = -2; under do(X=0): Z = -1, Y = 3·(-1) - 0 - 2 = -5.
    answer = linear.counterfactual("Y", evidence={"X": 2.0, "Z": 3.0, "Y": 5.0}, do={"X": 0.0})
    assert isinstance(answer, SampleDistribution)
    assert answer.exact
    assert answer.mean() == pytest.approx(-5.0, abs=1e-12)
    assert answer.quantile(0.5) == pytest.approx(-5.0, abs=1e-12)
    z = linear.counterfactual("Z", evidence={"X": 2.0, "Z": 3.0, "Y": 5.0}, do={"X": 0.0})
    assert z.mean() == pytest.approx(-1.0, abs=1e-12)


def test_linear_counterfactual_with_a_latent_mediator_is_still_a_point(linear):
    # Without Z: Y_{X=0} = 3 N_Z + N_Y = 3(Z - 4) + (7 - 3Z) = -5 in every posterior world.
    answer = linear.counterfactual("Y", evidence={"X": 2.0, "Y": 5.0}, do={"X": 0.0}, samples=500)
    assert answer.mean() == pytest.approx(-5.0, abs=1e-9)
    assert answer.std() == pytest.approx(0.0, abs=1e-9)


def test_linear_gaussian_posterior_by_conditioning(linear):
    # Z | X=2 ~ N(4, 0.25); Y | Z ~ N(3Z - 2, 4): posterior variance 1/(4 + 9/4) = 0.16,
    # mean 0.16 · (4·4 + 3·7/4) = 3.4.
    posterior = linear.query("Z", evidence={"X": 2.0, "Y": 5.0}, samples=20_000, seed=1)
    assert posterior.mean() == pytest.approx(3.4, abs=0.02)
    assert posterior.std() == pytest.approx(0.4, abs=0.02)
    prior = linear.query("Y", samples=20_000, seed=1)
    assert prior.mean() == pytest.approx(5.0, abs=0.1)  # 3·2 - 1


@pytest.mark.slow
def test_counterfactuals_equal_dowhy_gcm_counterfactual_samples(braking):
    from dowhy import gcm

    units = braking.sample(2000, seed=4)[list(braking.variables)]
    model = braking.to_gcm()
    for do in ({"Speed": 10.0}, {"Friction": 0.3}):
        name, value = next(iter(do.items()))
        theirs = gcm.counterfactual_samples(model, {name: lambda _, v=value: v}, observed_data=units)
        for target in ("BrakingDistance", "Margin"):
            ours = braking.counterfactual_batch(target, evidence=units, do=do)
            assert np.max(np.abs(ours.means() - theirs[target].to_numpy())) < 1e-6


def test_batched_continuous_equals_one_at_a_time(braking):
    units = braking.sample(5, seed=5)[list(braking.variables)]
    batch = braking.counterfactual_batch("Margin", evidence=units, do={"Speed": 12.0})
    for i, row in enumerate(units.to_dict("records")):
        single = braking.counterfactual("Margin", evidence=row, do={"Speed": 12.0})
        assert single.exact and batch[i].mean() == pytest.approx(single.mean(), abs=1e-12)


def test_evidence_outside_a_uniform_noise_is_impossible(braking):
    with pytest.raises(ImpossibleEvidenceError, match="probability 0"):
        braking.counterfactual("Margin", evidence={"Speed": 30.0, "Friction": 0.6}, do={"Speed": 9.0})


def test_mixed_counterfactuals_equal_the_simulators_ground_truth(crossing):
    # Observing every endogenous variable pins every real noise term; the finite part of the
    # counterfactual is then certain, and must equal re-running the same units under do.
    units = crossing.sample(25, seed=6)
    # ReactionTime is the constant t_react (no noise of its own): its value carries no evidence.
    evidence = units[[v for v in crossing.variables if v != "ReactionTime"]]
    for do in ({"Speed": 9.0}, {"Road": "wet"}, {"DriverBrakes": 1}):
        truth = crossing.sample(noise=units, do=do)
        for target in ("Collision", "StopsInTime"):
            batch = crossing.counterfactual_batch(target, evidence=evidence, do=do)
            assert np.array_equal(batch.probabilities.argmax(axis=1), truth[target].to_numpy())
            assert np.allclose(batch.probabilities.max(axis=1), 1.0)
        braking_distance = crossing.counterfactual_batch("BrakingDistance", evidence=evidence, do=do)
        assert np.allclose(braking_distance.means(), truth["BrakingDistance"].to_numpy(), atol=1e-9)


def test_sample_reruns_the_same_units(crossing):
    units = crossing.sample(50, seed=7)
    assert set(units.columns) == set(crossing.variables) | set(crossing.exogenous)
    again = crossing.sample(noise=units)
    pd.testing.assert_frame_equal(again, units)
    slower = crossing.sample(noise=units, do={"Speed": 8.0})
    assert (slower["Speed"] == 8.0).all()
    # Non-descendants of Speed keep their values unit by unit.
    for name in ("Weather", "Road", "Friction", "Light", "DriverBrakes", "DistanceToCrosswalk"):
        assert (slower[name] == units[name]).all()
    assert (slower["BrakingDistance"] < units["BrakingDistance"]).all()


def test_real_target_with_finite_evidence(crossing):
    # Friction | Road=wet: 0.45 + Normal(0, 0.04) exactly, estimated from weighted samples.
    answer = crossing.query("Friction", evidence={"Road": "wet"}, samples=4000, seed=2)
    assert answer.mean() == pytest.approx(0.45, abs=0.004)
    assert answer.std() == pytest.approx(0.04, abs=0.004)
    rows = [{"Road": "wet"}, {"Road": "dry", "Weather": "clear"}]
    batch = crossing.query_batch("Friction", evidence=rows, samples=2000)
    assert batch[1].mean() == pytest.approx(0.75, abs=0.005)


def test_mixed_query_matches_simulation(crossing):
    exact_weights = crossing.query("Collision", evidence={"Light": "red"}, seed=0)
    units = crossing.sample(100_000, seed=8)
    red = units[units["Light"] == "red"]
    assert exact_weights[1] == pytest.approx(red["Collision"].mean(), abs=0.01)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.query("Speed", evidence={"Speed": "fast"}), r"must hold numbers"),
        (lambda s: s.query("Speed", do={"Speed": float("nan")}), r"must be finite"),
        (
            lambda s: s.query("Collision", evidence={"StopsInTime": 2}),
            r"not in the domain of 'StopsInTime': \[0, 1\]",
        ),
        (lambda s: s.to_pgmpy(), r"real-valued: use SCM.discrete_part\(\)"),
        (lambda s: s.to_gcm(), r"needs real-valued variables"),
        (lambda s: s.sample(-1), r"n must be a non-negative integer"),
        (lambda s: s.sample(noise=pd.DataFrame({"U_Speed": [9.0]})), r"noise lacks the exogenous column"),
    ],
)
def test_bad_input_on_mixed_models(crossing, call, match):
    with pytest.raises(InvalidInputError, match=match):
        call(crossing)


def test_evidence_on_a_real_variable_needs_additive_noise():
    from mmreason import SCM

    scm = SCM.from_toml(
        """
[exogenous.N]
distribution = "normal"
mean = 0.0
std = 1.0
[variables.X]
type = "real"
equation = "exp(N)"
""",
        device="cpu",
    )
    with pytest.raises(InvalidInputError, match="needs an additive-noise equation"):
        scm.query("X", evidence={"X": 1.0})


def test_effect_of_a_linear_treatment_is_its_path_coefficient(linear):
    data = linear.sample(2000, seed=9)
    estimate = linear.effect(
        "X",
        "Y",
        data=data,
        treatment_value=1.0,
        control_value=0.0,
        refuters=("placebo_treatment",),
        simulations=5,
    )
    # Y = 3Z - X with Z = 2X: the total effect of one unit of X is 3·2 - 1 = 5.
    assert estimate.value == pytest.approx(5.0, abs=0.2)
    assert estimate.identification == "backdoor"
    assert abs(estimate.refutations[0].new_effect) < 0.5


def test_effect_adjusts_for_the_confounder(sprinkler):
    from mmreason import UnknownNameError

    data = sprinkler.sample(3000, seed=10)
    estimate = sprinkler.effect("S", "W", data=data, method="propensity_score_weighting", refuters=())
    assert estimate.adjustment_set in {("C",), ("R",), ("C", "R")}  # each blocks S <- C -> R -> W
    truth = sprinkler.query("W", do={"S": 1})[1] - sprinkler.query("W", do={"S": 0})[1]
    assert estimate.value == pytest.approx(truth, abs=0.05)
    with pytest.raises(UnknownNameError, match="choose one of"):
        sprinkler.effect("S", "W", data=data, method="magic")
    with pytest.raises(InvalidInputError, match=r"data lacks the column\(s\) \['W'\]"):
        sprinkler.effect("S", "W", data=data.drop(columns=["W"]))


def test_batch_with_missing_real_values_equals_single_queries(braking):
    units = braking.sample(3, seed=13)[list(braking.variables)]
    units.loc[1, "Friction"] = np.nan  # row 1: friction unseen, abduced from the rest by weighting
    batch = braking.counterfactual_batch("Margin", evidence=units, do={"Speed": 9.0}, samples=500)
    for i, row in enumerate(units.to_dict("records")):
        row = {k: v for k, v in row.items() if not pd.isna(v)}
        single = braking.counterfactual("Margin", evidence=row, do={"Speed": 9.0}, samples=500)
        assert batch[i].mean() == pytest.approx(single.mean(), abs=1e-9)
    assert batch[0].exact and not batch[1].exact
