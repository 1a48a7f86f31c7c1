"""Probabilities of causation: PN, PS, PNS (Pearl 1999; Tian & Pearl 2000; Pearl, *Causality*, ch. 9).

For a cause ``X = x`` (alternative ``x'``) and an effect ``Y = y`` (alternative ``y'``):

- PN  = P(Y_{x'} = y' | X = x, Y = y): was ``x`` necessary for ``y``?
- PS  = P(Y_x = y | X = x', Y = y'): would ``x`` have been sufficient?
- PNS = P(Y_x = y, Y_{x'} = y'): both at once.

From a fully specified SCM they are counterfactuals, computed exactly.
From data alone they are only bounded: Tian & Pearl's bounds combine the
observational joint P(X, Y) with the experimental P(Y_x) and P(Y_{x'}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmreason.errors import ImpossibleEvidenceError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from mmreason.causal.scm import SCM

__all__ = ["Bounds", "CausationResult", "tian_pearl_bounds"]


@dataclass(frozen=True, slots=True)
class Bounds:
    """A closed interval [lower, upper] of probabilities."""

    lower: float
    upper: float

    def __contains__(self, value: float) -> bool:
        return self.lower - 1e-9 <= value <= self.upper + 1e-9


@dataclass(frozen=True, slots=True)
class CausationResult:
    """PN, PS and PNS with their Tian–Pearl bounds.

    ``pn``, ``ps``, ``pns`` are exact values from the model (None when answered from data, or
    when the conditioning event has probability 0). ``coupling_dependent`` is True when a CPD
    lies between cause and effect: then the exact values hold under the model's documented
    comonotone coupling, and the bounds are what any coupling allows.
    """

    cause: tuple[str, Any]
    effect: tuple[str, Any]
    cause_alternative: Any
    effect_alternative: Any
    pn: float | None
    ps: float | None
    pns: float | None
    pn_bounds: Bounds | None
    ps_bounds: Bounds | None
    pns_bounds: Bounds
    source: str  # "model" | "data"
    coupling_dependent: bool

    def __str__(self) -> str:
        def show(value: float | None, bounds: Bounds | None) -> str:
            exact = "n/a" if value is None else f"{value:.4f}"
            interval = "n/a" if bounds is None else f"[{bounds.lower:.4f}, {bounds.upper:.4f}]"
            return f"{exact} (bounds {interval})"

        x, y = self.cause, self.effect
        return (
            f"{x[0]}={x[1]!r} -> {y[0]}={y[1]!r} ({self.source}): PN {show(self.pn, self.pn_bounds)}, "
            f"PS {show(self.ps, self.ps_bounds)}, PNS {show(self.pns, self.pns_bounds)}"
        )


def tian_pearl_bounds(
    *, p_xy: float, p_xy_: float, p_x_y: float, p_x_y_: float, p_y_do_x: float, p_y_do_x_: float
) -> tuple[Bounds | None, Bounds | None, Bounds]:
    """Bounds on (PN, PS, PNS) from P(x,y), P(x,y'), P(x',y), P(x',y') and P(y_x), P(y_{x'}).

    Tian & Pearl (2000), Theorems 1–3; PN (PS) bounds are None when P(x,y) (P(x',y')) is 0.

    >>> joint = {"p_xy": 0.3, "p_xy_": 0.2, "p_x_y": 0.1, "p_x_y_": 0.4}
    >>> pn, ps, pns = tian_pearl_bounds(**joint, p_y_do_x=0.6, p_y_do_x_=0.2)
    >>> round(pns.lower, 6), round(pns.upper, 6)
    (0.4, 0.6)
    """
    p_y = p_xy + p_x_y
    pns = Bounds(
        max(0.0, p_y_do_x - p_y_do_x_, p_y - p_y_do_x_, p_y_do_x - p_y),
        min(p_y_do_x, 1.0 - p_y_do_x_, p_xy + p_x_y_, p_y_do_x - p_y_do_x_ + p_xy_ + p_x_y),
    )
    pn = ps = None
    if p_xy > 0:
        pn = Bounds(max(0.0, (p_y - p_y_do_x_) / p_xy), min(1.0, ((1.0 - p_y_do_x_) - p_x_y_) / p_xy))
    if p_x_y_ > 0:
        ps = Bounds(max(0.0, (p_y_do_x - p_y) / p_x_y_), min(1.0, (p_y_do_x - p_xy) / p_x_y_))
    return pn, ps, pns


def _alternative(scm: SCM, name: str, value: Any, alternative: Any, role: str) -> Any:
    domain = scm.domain(name)
    if domain is None:
        raise InvalidInputError(
            f"{role}: {name!r} is real-valued; probabilities of causation need finite variables"
        )
    if value not in domain:
        raise InvalidInputError(
            f"{role} = ({name!r}, {value!r}): {value!r} is not in the domain {list(domain)}"
        )
    if alternative is None:
        others = [v for v in domain if v != value]
        if len(others) != 1:
            raise InvalidInputError(
                f"{name!r} has {len(domain)} values {list(domain)}; name the {role}_alternative explicitly"
            )
        return others[0]
    if alternative not in domain or alternative == value:
        raise InvalidInputError(
            f"{role}_alternative {alternative!r} must be another value of {name!r}: {list(domain)}"
        )
    return alternative


def probabilities_of_causation(
    scm: SCM,
    *,
    cause: tuple[str, Any],
    effect: tuple[str, Any],
    cause_alternative: Any,
    effect_alternative: Any,
    observational: pd.DataFrame | None,
    experimental: pd.DataFrame | None,
    samples: int,
    seed: int,
) -> CausationResult:
    for role, pair in (("cause", cause), ("effect", effect)):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidInputError(f"{role} must be a (variable, value) pair, found {pair!r}")
    x_name, x = cause
    y_name, y = effect
    scm._variable(x_name, "cause")
    scm._variable(y_name, "effect")
    if x_name == y_name:
        raise InvalidInputError("cause and effect must be different variables")
    x_ = _alternative(scm, x_name, x, cause_alternative, "cause")
    y_ = _alternative(scm, y_name, y, effect_alternative, "effect")
    options = {"samples": samples, "seed": seed}

    if observational is not None or experimental is not None:
        if observational is None or experimental is None:
            raise InvalidInputError("bounds from data need both observational= and experimental= DataFrames")
        joint, do_x, do_x_ = _from_data(observational, experimental, x_name, x, x_, y_name, y)
        pn_b, ps_b, pns_b = tian_pearl_bounds(**joint, p_y_do_x=do_x, p_y_do_x_=do_x_)
        return CausationResult(cause, effect, x_, y_, None, None, None, pn_b, ps_b, pns_b, "data", True)

    # Exact, from the model: each is a counterfactual over the same exogenous worlds.
    p_x = scm.query(x_name, **options)
    joint = {}
    for key, xv, yv in (("p_xy", x, y), ("p_xy_", x, y_), ("p_x_y", x_, y), ("p_x_y_", x_, y_)):
        joint[key] = p_x[xv] * (
            scm.query(y_name, evidence={x_name: xv}, **options)[yv] if p_x[xv] > 0 else 0.0
        )
    do_x = scm.query(y_name, do={x_name: x}, **options)[y]
    do_x_ = scm.query(y_name, do={x_name: x_}, **options)[y]
    pn_b, ps_b, pns_b = tian_pearl_bounds(**joint, p_y_do_x=do_x, p_y_do_x_=do_x_)
    pn = ps = None
    try:
        pn = scm.counterfactual(y_name, evidence={x_name: x, y_name: y}, do={x_name: x_}, **options)[y_]
    except ImpossibleEvidenceError:
        pn = None
    try:
        ps = scm.counterfactual(y_name, evidence={x_name: x_, y_name: y_}, do={x_name: x}, **options)[y]
    except ImpossibleEvidenceError:
        ps = None
    pns = _pns(scm, x_name, x, x_, y_name, y, y_, samples=samples, seed=seed)
    model = scm._model
    between = model.descendants([x_name]) & model.ancestors({y_name})
    coupling = any(model.variables[v].mechanism == "cpd" for v in between | {y_name})
    return CausationResult(cause, effect, x_, y_, pn, ps, pns, pn_b, ps_b, pns_b, "model", coupling)


def _pns(
    scm: SCM, x_name: str, x: Any, x_: Any, y_name: str, y: Any, y_: Any, *, samples: int, seed: int
) -> float:
    """P(Y_x = y, Y_{x'} = y'): both interventions on the same prior worlds."""
    import torch

    with torch.inference_mode():
        return _pns_impl(scm, x_name, x, x_, y_name, y, y_, samples=samples, seed=seed)


def _pns_impl(
    scm: SCM, x_name: str, x: Any, x_: Any, y_name: str, y: Any, y_: Any, *, samples: int, seed: int
) -> float:
    import torch

    model = scm._model
    device = scm.device
    enumerated, prior = model.enumerate_exogenous(device)
    real = [exo.name for exo in model.sampled()]
    draws = samples if real else 1
    drawn = model.sample_exogenous(draws, torch.Generator().manual_seed(int(seed)), device, names=real)
    exogenous = {k: v.view(-1, 1) for k, v in enumerated.items()}
    exogenous.update({k: v.view(1, -1) for k, v in drawn.items()})
    only = model.ancestors({y_name})
    domain_x = scm.domain(x_name) or ()
    domain_y = scm.domain(y_name) or ()
    worlds = []
    for value in (x, x_):
        do = {x_name: torch.tensor(domain_x.index(value), device=device)}
        worlds.append(model.run(exogenous, device, do=do, only=only).values[y_name])
    both = (worlds[0] == domain_y.index(y)) & (worlds[1] == domain_y.index(y_))
    weights = prior.view(-1, 1) / draws
    return float((weights * both).sum())


def _from_data(
    observational: pd.DataFrame, experimental: pd.DataFrame, x_name: str, x: Any, x_: Any, y_name: str, y: Any
) -> tuple[dict[str, float], float, float]:
    import pandas as pd

    for role, frame in (("observational", observational), ("experimental", experimental)):
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInputError(f"{role} must be a DataFrame, found {type(frame).__name__}")
        missing = [c for c in (x_name, y_name) if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"{role} data lacks the column(s) {missing}")
        if len(frame) == 0:
            raise InvalidInputError(f"{role} data has no rows")
    obs_x = observational[x_name]
    obs_y = observational[y_name] == y
    n = len(observational)
    joint = {
        "p_xy": float(((obs_x == x) & obs_y).sum() / n),
        "p_xy_": float(((obs_x == x) & ~obs_y).sum() / n),
        "p_x_y": float(((obs_x == x_) & obs_y).sum() / n),
        "p_x_y_": float(((obs_x == x_) & ~obs_y).sum() / n),
    }
    rates = []
    for value in (x, x_):
        arm = experimental[experimental[x_name] == value]
        if len(arm) == 0:
            raise InvalidInputError(f"experimental data has no rows with {x_name} = {value!r}")
        rates.append(float((arm[y_name] == y).mean()))
    return joint, rates[0], rates[1]
