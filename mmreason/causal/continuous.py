"""Real-valued SCMs and DoWhy gcm: the same equations as a gcm ``InvertibleStructuralCausalModel``.

Our own counterfactuals for additive-noise mechanisms live in the batched
engine (:mod:`mmreason.causal.discrete` and :mod:`mmreason.causal.model`):
abduction recovers ``n = x - g(parents)`` for every unit at once, as tensors.
:func:`to_gcm` builds the gcm model that evaluates the very same equations,
so that ``gcm.counterfactual_samples`` is a peer to check against (Blöbaum et
al., 2024, "DoWhy-GCM"; Pearl, *Causality*, §7.1).

>>> from mmreason import SCM
>>> scm = SCM.from_toml('''
... [exogenous.N_X]
... distribution = "normal"
... mean = 0.0
... std = 1.0
... [exogenous.N_Y]
... distribution = "normal"
... mean = 0.0
... std = 1.0
... [variables.X]
... type = "real"
... equation = "N_X"
... [variables.Y]
... type = "real"
... equation = "2 * X + N_Y"
... ''', device="cpu")
>>> gcm_model = scm.to_gcm()
>>> sorted(gcm_model.graph.nodes)
['X', 'Y']
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import torch

from mmreason.causal.model import CompiledModel
from mmreason.errors import InvalidInputError

__all__ = ["EquationPredictor", "import_dowhy", "to_gcm"]

_CPU = torch.device("cpu")


def import_dowhy() -> Any:
    """Import ``dowhy`` (with ``dowhy.gcm``), keeping ``sys.displayhook`` as it was.

    Importing DoWhy runs SymPy's ``init_printing``, which replaces the interpreter's
    display hook; mmreason changes no global state on the caller's behalf.
    """
    import sys

    hook = sys.displayhook
    try:
        import dowhy
        import dowhy.gcm
        import dowhy.gcm.causal_models
    finally:
        sys.displayhook = hook
    return dowhy


class EquationPredictor:
    """A gcm ``PredictionModel`` that evaluates one of our equations with its noise set to 0.

    ``fit`` does nothing: the mechanism is known, not learned.
    """

    def __init__(self, model: CompiledModel, name: str, parents: list[str], noise: str) -> None:
        self.model = model
        self.name = name
        self.parents = parents  # gcm's order: sorted predecessor names
        self.noise = noise

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64).reshape(len(X), -1)  # a writable copy for torch
        if not np.isfinite(X).all():
            raise InvalidInputError(
                f"gcm asked for {self.name!r} at parent values with nan or ±inf "
                f"(parents {self.parents}); the data given to gcm must be finite"
            )
        values = {p: torch.as_tensor(X[:, i]) for i, p in enumerate(self.parents)}
        out = self.model.mechanism(self.name, values, _CPU, zero_noise=self.noise)
        return out.expand(len(X)).numpy().reshape(-1, 1)

    def clone(self) -> EquationPredictor:
        return EquationPredictor(self.model, self.name, self.parents, self.noise)


def _scipy_noise(model: CompiledModel, noise: str, sign: int, offset: float = 0.0) -> Any:
    """The distribution of ``offset + sign * noise`` as a gcm ``ScipyDistribution``."""
    from scipy import stats

    gcm = import_dowhy().gcm

    exo = model.exogenous[noise]
    if exo.kind == "normal":
        return gcm.ScipyDistribution(
            stats.norm, loc=offset + sign * exo.params["mean"], scale=exo.params["std"]
        )
    low, high = exo.params["low"], exo.params["high"]
    if sign < 0:
        low, high = -high, -low
    return gcm.ScipyDistribution(stats.uniform, loc=offset + low, scale=high - low)


def to_gcm(model: CompiledModel) -> Any:
    """A gcm ``InvertibleStructuralCausalModel`` whose mechanisms are our equations.

    Roots become ``ScipyDistribution`` nodes; every other variable an
    ``AdditiveNoiseModel`` with an :class:`EquationPredictor` and its noise law.
    """
    gcm = import_dowhy().gcm
    from dowhy.gcm.causal_models import PARENTS_DURING_FIT

    graph = nx.DiGraph()
    graph.add_nodes_from(model.variables)
    for name, variable in model.variables.items():
        if variable.discrete:
            raise InvalidInputError(f"to_gcm() needs real-valued variables; {name!r} is finite")
        if model.additive_noise[name] is None:
            raise InvalidInputError(
                "to_gcm() needs additive noise of its own in every equation; "
                f"{name!r} has {variable.equation!r}"
            )
        graph.add_edges_from((p, name) for p in variable.parents)
    scm = gcm.InvertibleStructuralCausalModel(graph)
    for name, variable in model.variables.items():
        noise, sign = model.additive_noise[name]  # type: ignore[misc]
        parents = sorted(variable.parents)
        if not parents:
            offset = float(model.mechanism(name, {}, _CPU, zero_noise=noise))
            scm.set_causal_mechanism(name, _scipy_noise(model, noise, sign, offset))
        else:
            scm.set_causal_mechanism(
                name,
                gcm.AdditiveNoiseModel(
                    prediction_model=EquationPredictor(model, name, parents, noise),
                    noise_model=_scipy_noise(model, noise, sign),
                ),
            )
        # The mechanisms are given, not learned: record them as fitted on these parents
        # (as gcm's own equation parser does).
        scm.graph.nodes[name][PARENTS_DURING_FIT] = parents
    return scm
