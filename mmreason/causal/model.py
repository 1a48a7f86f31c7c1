"""A validated SCM compiled to torch: run the mechanisms over a batch of worlds.

A *world* is one joint value of every exogenous variable. Every endogenous
variable is a deterministic function of its parents and its noise, evaluated
here for a whole batch of worlds at once (tensors whose shapes broadcast, e.g.
``[enumerated, 1]`` for finite noise and ``[1, sampled]`` for real noise):

- finite endogenous and finite exogenous variables are held as integer codes
  into their domain (``long``); real ones as ``float64``;
- a CPD-specified variable ``X`` reads its response noise ``U_X ~ Uniform(0, 1)``
  through the inverse CDF of the column its parents select (the comonotone
  coupling: one ``u`` shared by every parent configuration).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mmreason.causal import expr
from mmreason.causal.spec import Exogenous, ScmSpec, Variable
from mmreason.errors import InvalidInputError, ScmSpecError
from mmreason.limits import quote

__all__ = ["CompiledModel", "Worlds"]

_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Worlds:
    """The values of every variable in a batch of worlds, and what abduction added to their weight."""

    values: dict[str, torch.Tensor]  # name -> codes (finite) or float64 (real); shapes broadcast
    log_weight: torch.Tensor  # log density of continuous evidence (0 where none); broadcasts


def _num(value: torch.Tensor) -> torch.Tensor:
    return value if value.dtype == torch.float64 else value.to(torch.float64)


class CompiledModel:
    """The mechanisms of an :class:`ScmSpec` as batched torch functions."""

    def __init__(self, spec: ScmSpec) -> None:
        self.spec = spec
        self.variables = spec.variables
        self.exogenous = spec.exogenous
        self.order = tuple(spec.variables)
        self.children: dict[str, list[str]] = {name: [] for name in self.order}
        for name, variable in self.variables.items():
            for parent in variable.parents:
                self.children[parent].append(name)
        self.noise_users: dict[str, list[str]] = {name: [] for name in self.exogenous}
        for name, variable in self.variables.items():
            for noise in variable.noise:
                self.noise_users[noise].append(name)
        self.additive_noise = {name: self._additive_noise(v) for name, v in self.variables.items()}
        self._cache: dict[tuple[str, str], torch.Tensor] = {}
        self._enumerated: dict[tuple[str, tuple[str, ...]], tuple[dict[str, torch.Tensor], torch.Tensor]] = {}
        self._noise_free_ast: dict[str, expr.Node | None] = {}

    # ------------------------------------------------------------ structure

    def _additive_noise(self, variable: Variable) -> tuple[str, int] | None:
        """(noise, sign) when ``variable = g(parents) + sign * noise`` with continuous noise of its own."""
        if variable.discrete or variable.ast is None:
            return None
        terms = expr.additive_terms(variable.ast)
        candidates = [
            (t.name, sign) for sign, t in terms if isinstance(t, expr.Name) and t.name in self.exogenous
        ]
        # Counted once each, so a long sum costs one pass, not one per noise term.
        reads = Counter(n for _, t in terms for n in t.names())
        bare = Counter(noise for noise, _ in candidates)
        for noise, sign in candidates:
            exo = self.exogenous[noise]
            if exo.kind not in ("normal", "uniform") or self.noise_users[noise] != [variable.name]:
                continue
            if reads[noise] == 1 and bare[noise] == 1:
                return noise, sign
        return None

    def descendants(self, names: set[str] | list[str]) -> set[str]:
        out: set[str] = set()
        stack = list(names)
        while stack:
            for child in self.children[stack.pop()]:
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out

    def _noise_free(
        self, name: str, values: Mapping[str, torch.Tensor], device: torch.device, noise: str
    ) -> torch.Tensor | None:
        """g(parents) of ``name = g(parents) ± noise``; None when the equation is the noise alone."""
        if name not in self._noise_free_ast:
            # The equation's other additive terms, recombined: g itself, without adding a zero noise.
            g: expr.Node | None = None
            for sign, term in expr.additive_terms(self.variables[name].ast):  # type: ignore[arg-type]
                if isinstance(term, expr.Name) and term.name == noise:
                    continue
                if g is None:
                    g = term if sign > 0 else expr.UnaryOp("-", term)
                else:
                    g = expr.BinOp("+" if sign > 0 else "-", g, term)
            self._noise_free_ast[name] = g
        g = self._noise_free_ast[name]
        if g is None:
            return None
        return self.mechanism(name, values, device, ast=g)

    def ancestors(self, names: set[str] | list[str]) -> set[str]:
        """``names`` and every variable with a directed path into them."""
        out = set(names)
        stack = list(names)
        while stack:
            for parent in self.variables[stack.pop()].parents:
                if parent not in out:
                    out.add(parent)
                    stack.append(parent)
        return out

    def _tensor(self, key: tuple[str, str], build: Any, device: torch.device) -> torch.Tensor:
        cache_key = (key[0], f"{key[1]}@{device}")
        if cache_key not in self._cache:
            self._cache[cache_key] = torch.as_tensor(build(), device=device)
        return self._cache[cache_key]

    def domain_values(self, name: str, device: torch.device) -> torch.Tensor:
        """Numeric values of a finite variable (endogenous or exogenous), as float64 ``[K]``."""
        domain = self.variables[name].domain if name in self.variables else self.exogenous[name].values
        return self._tensor((name, "values"), lambda: np.asarray(domain, dtype=np.float64), device)

    # ------------------------------------------------------------ exogenous worlds

    def enumerable(self) -> list[Exogenous]:
        return [exo for exo in self.exogenous.values() if exo.enumerable]

    def sampled(self) -> list[Exogenous]:
        return [exo for exo in self.exogenous.values() if not exo.enumerable]

    def enumerate_exogenous(
        self, device: torch.device, names: set[str] | None = None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Every joint value of the finite and response exogenous variables, with its prior probability.

        ``names`` restricts the enumeration to those variables (the others sum out to 1).
        The result is cached per device and names (the model is immutable); do not modify it.
        """
        exos = tuple(exo for exo in self.enumerable() if names is None or exo.name in names)
        key = (str(device), tuple(exo.name for exo in exos))
        if key not in self._enumerated:
            self._enumerated[key] = self._enumerate_exogenous(device, list(exos))
        return self._enumerated[key]

    def _enumerate_exogenous(
        self, device: torch.device, exos: list[Exogenous]
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        sizes = [len(exo.values) for exo in exos]
        total = int(np.prod(sizes)) if sizes else 1
        if total > 20_000_000:
            raise InvalidInputError(
                f"the model has {total:,} joint exogenous states "
                f"({', '.join(f'{e.name}: {len(e.values)}' for e in exos)}); "
                "exact enumeration is limited to 20,000,000"
            )
        grids = (
            torch.meshgrid(*[torch.arange(s, device=device) for s in sizes], indexing="ij") if sizes else []
        )
        out: dict[str, torch.Tensor] = {}
        prob = torch.ones(total, dtype=torch.float64, device=device)
        for exo, grid in zip(exos, grids, strict=True):
            index = grid.reshape(-1)
            probs = torch.as_tensor(exo.probs, dtype=torch.float64, device=device)
            prob = prob * probs[index]
            if exo.kind == "response":
                out[exo.name] = torch.as_tensor(exo.values, dtype=torch.float64, device=device)[index]
            else:
                out[exo.name] = index
        return out, prob

    def sample_exogenous(
        self, n: int, generator: torch.Generator, device: torch.device, names: list[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Draw ``n`` values of each exogenous variable from its prior (on the CPU, then moved)."""
        out: dict[str, torch.Tensor] = {}
        for exo in self.exogenous.values():
            if names is not None and exo.name not in names:
                continue
            if exo.kind in ("bernoulli", "categorical"):
                probs = torch.as_tensor(exo.probs, dtype=torch.float64)
                value = torch.multinomial(probs, n, replacement=True, generator=generator)
            elif exo.kind == "response":
                value = torch.rand(n, generator=generator, dtype=torch.float64)
            elif exo.kind == "normal":
                value = exo.params["mean"] + exo.params["std"] * torch.randn(
                    n, generator=generator, dtype=torch.float64
                )
            else:
                low, high = exo.params["low"], exo.params["high"]
                value = low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)
            out[exo.name] = value.to(device)
        return out

    def noise_log_density(self, name: str, value: torch.Tensor) -> torch.Tensor:
        exo = self.exogenous[name]
        if exo.kind == "normal":
            z = (value - exo.params["mean"]) / exo.params["std"]
            return -0.5 * z * z - math.log(exo.params["std"]) - 0.5 * _LOG_2PI
        low, high = exo.params["low"], exo.params["high"]
        inside = (value >= low) & (value <= high)
        return torch.where(inside, -math.log(high - low), -math.inf).to(torch.float64)

    # ------------------------------------------------------------ mechanisms

    def env_value(self, name: str, values: Mapping[str, torch.Tensor], device: torch.device) -> object:
        """How an equation sees a variable: numbers, or :class:`expr.Categorical` for string values."""
        if name in self.spec.constants:
            return self.spec.constants[name]
        tensor = values[name]
        if name in self.variables:
            variable = self.variables[name]
            if variable.domain is None:
                return tensor
            if variable.numeric:
                if variable.domain == tuple(range(len(variable.domain))):
                    return tensor  # the codes are the values; arithmetic promotes them as needed
                return self.domain_values(name, device)[tensor]
            return expr.Categorical(tensor, variable.domain)
        exo = self.exogenous[name]
        if exo.kind in ("bernoulli", "categorical"):
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in exo.values):
                return self.domain_values(name, device)[tensor]
            return expr.Categorical(tensor, exo.values)
        return tensor

    def mechanism(
        self,
        name: str,
        values: Mapping[str, torch.Tensor],
        device: torch.device,
        *,
        zero_noise: str | None = None,
        ast: expr.Node | None = None,
    ) -> torch.Tensor:
        """Evaluate the mechanism of ``name`` in each world: codes (finite) or float64 (real).

        Tensors broadcast: a variable that depends only on enumerated noise keeps the shape
        of that noise, so the real-valued block alone pays for the sampled dimension.
        """
        variable = self.variables[name]
        if variable.mechanism == "cpd":
            return self._cpd(variable, values, device)
        ast = ast if ast is not None else variable.ast
        env: dict[str, object] = {}
        for used in ast.names() if ast is not None else ():
            if used == zero_noise:
                env[used] = torch.zeros((), dtype=torch.float64, device=device)
            else:
                env[used] = self.env_value(used, values, device)
        try:
            out = expr.evaluate(ast, env, target_domain=variable.domain)
        except expr.ExprEvalError as exc:
            raise ScmSpecError(
                f"equation {quote(variable.equation)} cannot be evaluated: {exc}",
                path=self.spec.path,
                variable=name,
                line=variable.line,
            ) from None
        if isinstance(out, float):
            out = torch.tensor(out, dtype=torch.float64, device=device)
        if variable.domain is None:
            if isinstance(out, expr.Categorical):
                raise ScmSpecError(
                    "a real-valued variable's equation gives string values",
                    path=self.spec.path,
                    variable=name,
                    line=variable.line,
                )
            return _num(out)
        return self._to_codes(variable, out)

    def _to_codes(self, variable: Variable, out: object) -> torch.Tensor:
        if isinstance(out, expr.Categorical):
            if out.domain == variable.domain:
                return out.codes
            mapping = torch.as_tensor([variable.domain.index(v) for v in out.domain], device=out.codes.device)
            return mapping[out.codes]
        if not variable.numeric:
            raise ScmSpecError(
                f"equation gives numbers but the values are {list(variable.domain or ())}",
                path=self.spec.path,
                variable=variable.name,
                line=variable.line,
            )
        assert isinstance(out, torch.Tensor)
        if tuple(variable.domain or ()) == tuple(range(len(variable.domain or ()))):
            # Domain 0..K-1: the value is its own code.
            if out.dtype == torch.bool:
                return out.long()
            codes = out.long()
            valid = (codes == out) & (codes >= 0) & (codes < len(variable.domain or ()))
            if bool(valid.all()):
                return codes
        out = _num(out)
        domain = self.domain_values(variable.name, out.device)
        match = out.unsqueeze(-1) == domain  # [W, K]
        found = match.any(-1)
        if not bool(found.all()):
            bad = out[~found][0].item()
            raise ScmSpecError(
                f"equation {quote(variable.equation)} gives {bad:g}, "
                f"which is not in the domain {list(variable.domain or ())}",
                path=self.spec.path,
                variable=variable.name,
                line=variable.line,
            )
        return match.to(torch.uint8).argmax(-1)

    def _cpd(
        self, variable: Variable, values: Mapping[str, torch.Tensor], device: torch.device
    ) -> torch.Tensor:
        assert variable.cpd is not None and variable.domain is not None
        cumulative = self._tensor(
            (variable.name, "cumulative"), lambda: np.cumsum(variable.cpd, axis=1)[:, :-1], device
        )  # [configs, K-1]
        column = torch.zeros((), dtype=torch.long, device=device)
        for parent in variable.parents:
            column = column * len(self.variables[parent].domain or ()) + values[parent]
        u = values[variable.noise[0]]
        # Inverse CDF: the code is the number of cumulative probabilities at or below u.
        return (u.unsqueeze(-1) >= cumulative[column]).sum(-1)

    # ------------------------------------------------------------ running worlds

    def run(
        self,
        exogenous: Mapping[str, torch.Tensor],
        device: torch.device,
        *,
        do: Mapping[str, torch.Tensor] | None = None,
        observed: Mapping[str, tuple[torch.Tensor, torch.Tensor | None]] | None = None,
        base: Mapping[str, torch.Tensor] | None = None,
        only: set[str] | None = None,
        densities: bool = True,
        needed: set[str] | None = None,
    ) -> Worlds:
        """Evaluate every endogenous variable in topological order.

        Args:
            exogenous: name -> values of every exogenous variable (codes or floats); shapes broadcast.
            device: where the tensors live.
            do: name -> the value it is set to (encoded; a scalar or a broadcastable tensor).
            observed: real variable -> (value, observed mask), broadcastable. Abduction: where
                observed, the variable's additive noise is recovered as ``(x - g(parents)) / sign``
                and the world's weight gains the noise density there. A mask of None means
                observed everywhere.
            base: values to reuse for the variables outside ``only``.
            only: the variables to evaluate; the others are taken from ``base`` or skipped.
            densities: when False (one world per row, so weights need no density), only the
                support of the noise is checked: ``log_weight`` is 0 inside it and -inf outside.
            needed: with ``densities=False``, the observed variables whose noise a later run
                reads; the noise of the others is recovered only to check its support.
        """
        values: dict[str, torch.Tensor] = dict(exogenous)
        log_weight = torch.zeros((), dtype=torch.float64, device=device)
        do = do or {}
        observed = observed or {}
        needed = set(observed) if needed is None else needed
        for name in self.order:
            if only is not None and name not in only:
                if base is not None and name in base:
                    values[name] = base[name]
                continue
            if name in do:
                values[name] = do[name]
                continue
            if name in observed:
                x, mask = observed[name]
                noise, sign = self.additive_noise[name]  # type: ignore[misc]
                exo = self.exogenous[noise]
                if mask is None and not densities and name not in needed and exo.kind == "normal":
                    # Nothing downstream reads this noise and its support is the real line.
                    values[name] = x
                    continue
                g = self._noise_free(name, values, device, noise)
                recovered = x - g if g is not None else x
                if sign < 0:
                    recovered = -recovered
                if mask is None:
                    values[noise] = recovered
                    if densities:
                        log_weight = log_weight + self.noise_log_density(noise, recovered)
                    elif exo.kind == "uniform":
                        low, high = exo.params["low"], exo.params["high"]
                        if float(recovered.min()) < low or float(recovered.max()) > high:
                            outside = (recovered < low) | (recovered > high)
                            log_weight = log_weight + torch.where(outside, -torch.inf, 0.0)
                    values[name] = x
                else:
                    values[noise] = torch.where(mask, recovered, values[noise])
                    log_weight = log_weight + torch.where(mask, self.noise_log_density(noise, recovered), 0.0)
                    g_full = g if g is not None else 0.0
                    values[name] = torch.where(mask, x, g_full + sign * values[noise])
                continue
            values[name] = self.mechanism(name, values, device)
        return Worlds(values, log_weight)
