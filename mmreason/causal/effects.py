"""Average treatment effects from data on the SCM's graph: DoWhy ``CausalModel`` identify → estimate → refute.

The graph is the SCM's; exogenous noise shared by several variables enters as
an unobserved common cause, so DoWhy's identification sees the same
confounding the model has (Sharma & Kiciman, 2020, "DoWhy").
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from mmreason.errors import InvalidInputError, UnknownNameError

if TYPE_CHECKING:
    import pandas as pd

    from mmreason.causal.scm import SCM

__all__ = ["ESTIMATORS", "REFUTERS", "EffectEstimate", "Refutation"]

# Estimator names users choose by, mapped to DoWhy's method names.
ESTIMATORS: Mapping[str, str] = MappingProxyType(
    {
        "linear_regression": "backdoor.linear_regression",
        "propensity_score_matching": "backdoor.propensity_score_matching",
        "propensity_score_stratification": "backdoor.propensity_score_stratification",
        "propensity_score_weighting": "backdoor.propensity_score_weighting",
        "frontdoor": "frontdoor.two_stage_regression",
        "instrumental_variable": "iv.instrumental_variable",
    }
)
REFUTERS: Mapping[str, str] = MappingProxyType(
    {
        "placebo_treatment": "placebo_treatment_refuter",
        "random_common_cause": "random_common_cause",
        "data_subset": "data_subset_refuter",
    }
)


@dataclass(frozen=True, slots=True)
class Refutation:
    """One refutation test: the effect re-estimated under a perturbation of the data or graph.

    ``passed`` follows DoWhy's test: a placebo should give ~0, the others the original effect;
    it is None when DoWhy reports no p-value.
    """

    name: str
    new_effect: float
    p_value: float | None
    passed: bool | None


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    """An average treatment effect with how it was identified, estimated and checked.

    >>> e = EffectEstimate("S", "W", 0.4, "linear_regression", "backdoor", ("C",), 1, 0, 1000, ())
    >>> e.value
    0.4
    """

    treatment: str
    outcome: str
    value: float
    method: str
    identification: str  # "backdoor" | "frontdoor" | "iv"
    adjustment_set: tuple[str, ...]
    treatment_value: Any
    control_value: Any
    rows: int
    refutations: tuple[Refutation, ...]
    estimand: str = ""

    def __str__(self) -> str:
        checks = ", ".join(
            f"{r.name}: {r.new_effect:.4g}" + ("" if r.p_value is None else f" (p={r.p_value:.3g})")
            for r in self.refutations
        )
        return (
            f"ATE of {self.treatment}={self.treatment_value!r} vs {self.control_value!r} on {self.outcome}: "
            f"{self.value:.4g} ({self.method}, {self.identification} on {list(self.adjustment_set)}, "
            f"{self.rows} rows)" + (f"; refutations: {checks}" if checks else "")
        )


def _dowhy_graph(scm: SCM) -> str:
    import networkx as nx

    graph = nx.DiGraph()
    for name in scm.variables:
        graph.add_node(name, observed="yes")
    graph.add_edges_from(scm.graph.edges)
    model = scm._model
    for noise, users in model.noise_users.items():
        if len(users) > 1:
            latent = f"latent_{noise}"
            graph.add_node(latent, observed="no")
            graph.add_edges_from((latent, user) for user in users)
    return "\n".join(nx.generate_gml(graph))


def estimate_effect(
    scm: SCM,
    treatment: str,
    outcome: str,
    *,
    data: pd.DataFrame,
    method: str,
    treatment_value: Any,
    control_value: Any,
    refuters: tuple[str, ...],
    simulations: int,
    seed: int,
) -> EffectEstimate:
    import pandas as pd

    treatment_var = scm._variable(treatment, "treatment")
    outcome_var = scm._variable(outcome, "outcome")
    if treatment == outcome:
        raise InvalidInputError("treatment and outcome must be different variables")
    if method not in ESTIMATORS:
        raise UnknownNameError("estimator", method, ESTIMATORS)
    for name in refuters:
        if name not in REFUTERS:
            raise UnknownNameError("refuter", name, REFUTERS)
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"data must be a pandas DataFrame, found {type(data).__name__}")
    missing = [c for c in scm.variables if c not in data.columns]
    if missing:
        raise InvalidInputError(f"data lacks the column(s) {missing} of the model's variables")
    if not outcome_var.numeric:
        raise InvalidInputError(
            f"the outcome {outcome!r} has non-numeric values {list(outcome_var.domain or ())}"
        )
    frame = data[list(scm.variables)].copy()
    if frame.isna().any().any():
        raise InvalidInputError(f"data has missing values in {list(frame.columns[frame.isna().any()])}")
    # A finite treatment is compared at two of its values: 1 for treatment_value, 0 for control_value.
    if treatment_var.domain is not None:
        for role, value in (("treatment_value", treatment_value), ("control_value", control_value)):
            if value not in treatment_var.domain:
                raise InvalidInputError(
                    f"{role}={value!r} is not in the domain of {treatment!r}: {list(treatment_var.domain)}"
                )
        frame = frame[frame[treatment].isin([treatment_value, control_value])]
        frame[treatment] = (frame[treatment] == treatment_value).astype(bool)
        dowhy_treated, dowhy_control = True, False
    else:
        dowhy_treated, dowhy_control = treatment_value, control_value
    for name in scm.variables:
        variable = scm.spec.variables[name]
        if name != treatment and variable.domain is not None and not variable.numeric:
            # String-valued covariates become indicator columns for the regressions.
            frame[name] = pd.Categorical(frame[name], categories=list(variable.domain)).codes
    if len(frame) < 10:
        raise InvalidInputError(f"data has {len(frame)} usable rows; effect estimation needs at least 10")

    from mmreason.causal.continuous import import_dowhy

    CausalModel = import_dowhy().CausalModel

    # DoWhy's estimators draw from NumPy's global generator: seed it, then put it back.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = CausalModel(data=frame, treatment=treatment, outcome=outcome, graph=_dowhy_graph(scm))
            estimand = model.identify_effect(proceed_when_unidentifiable=False)
            kind = ESTIMATORS[method].split(".")[0]
            names = {"backdoor": "backdoor", "frontdoor": "frontdoor", "iv": "iv"}
            variables = (
                estimand.get_backdoor_variables()
                if kind == "backdoor"
                else (
                    estimand.get_frontdoor_variables()
                    if kind == "frontdoor"
                    else estimand.get_instrumental_variables()
                )
            )
            if kind != "backdoor" and not variables:
                raise InvalidInputError(
                    f"the effect of {treatment!r} on {outcome!r} has no {kind} identification here"
                )
            if kind == "backdoor" and estimand.estimands.get("backdoor") is None:
                raise InvalidInputError(
                    f"the effect of {treatment!r} on {outcome!r} is not identifiable by back-door adjustment "
                    "(an unobserved common cause?); try method='frontdoor' or 'instrumental_variable'"
                )
            try:
                estimate = model.estimate_effect(
                    estimand,
                    method_name=ESTIMATORS[method],
                    treatment_value=dowhy_treated,
                    control_value=dowhy_control,
                )
            except (ValueError, np.linalg.LinAlgError) as exc:
                raise InvalidInputError(f"{method} could not estimate the effect: {exc}") from None
            value = float(np.asarray(estimate.value).ravel()[0])
            refutations = []
            for name in refuters:
                options: dict[str, Any] = {"method_name": REFUTERS[name], "random_seed": seed}
                if name in ("placebo_treatment", "random_common_cause", "data_subset"):
                    options["num_simulations"] = simulations
                if name == "placebo_treatment":
                    options["placebo_type"] = "permute"
                if name == "data_subset":
                    options["subset_fraction"] = 0.8
                refuted = model.refute_estimate(estimand, estimate, show_progress_bar=False, **options)
                result = refuted.refutation_result or {}
                p_value = result.get("p_value") if isinstance(result, dict) else None
                significant = result.get("is_statistically_significant") if isinstance(result, dict) else None
                refutations.append(
                    Refutation(
                        name,
                        float(np.asarray(refuted.new_effect).ravel()[0]),
                        None if p_value is None else float(p_value),
                        None if significant is None else not bool(significant),
                    )
                )
    finally:
        np.random.set_state(state)
    return EffectEstimate(
        treatment=treatment,
        outcome=outcome,
        value=value,
        method=method,
        identification=names[kind],
        adjustment_set=tuple(sorted(variables or ())),
        treatment_value=treatment_value,
        control_value=control_value,
        rows=len(frame),
        refutations=tuple(refutations),
        estimand=str(estimand),
    )
