"""Exact finite inference by tensor contraction over the twin network, for models too large to enumerate.

Enumerating every joint exogenous value (:mod:`mmreason.causal.discrete`) is
the fastest exact method for small models, but it grows with the product of
the noise supports. Here the same quantity is a sum-product: one factor per
variable and per shared noise term of the twin network (Balke & Pearl, 1994),
contracted with ``opt_einsum`` (Smith & Gray, 2018), which picks an
elimination order as variable elimination would (Zhang & Poole, 1994).

- A variable outside the counterfactual copy keeps its CPD (its noise summed
  into it); a copied variable and its copy share an explicit noise index.
- Evidence rows are one batch index ``b``: a row's factor for ``X`` is the
  one-hot of its observed value, or ones where ``X`` is unobserved.
- Interventions replace a variable's factor by the one-hot of its value.
- An exogenous target keeps its own noise index, which is the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from mmreason.causal.model import CompiledModel

__all__ = ["contract_query"]

_CPU = torch.device("cpu")


def _card(model: CompiledModel, name: str) -> int:
    if name in model.variables:
        return len(model.variables[name].domain or ())
    return len(model.exogenous[name].values)


def _noise_values(model: CompiledModel, name: str, codes: torch.Tensor) -> torch.Tensor:
    exo = model.exogenous[name]
    if exo.kind == "response":
        return torch.as_tensor(exo.values, dtype=torch.float64)[codes]
    return codes


def _factor(
    model: CompiledModel, name: str, inputs: list[str], summed: list[str], device: torch.device
) -> torch.Tensor:
    """``P(name | inputs)`` as a tensor ``[K, *cards(inputs)]``, with ``summed`` noise marginalised."""
    variable = model.variables[name]
    k = len(variable.domain or ())
    if variable.mechanism == "cpd" and inputs == list(variable.parents):
        assert variable.cpd is not None
        cards = [_card(model, p) for p in inputs]
        table = torch.as_tensor(variable.cpd.T, dtype=torch.float64)  # [K, configs], last parent fastest
        return table.reshape(k, *cards).to(device)
    axes = inputs + summed
    cards = [_card(model, a) for a in axes]
    grids = np.meshgrid(*[np.arange(c) for c in cards], indexing="ij") if cards else []
    values: dict[str, torch.Tensor] = {}
    for axis, grid in zip(axes, grids, strict=True):
        codes = torch.as_tensor(grid.reshape(-1))
        values[axis] = _noise_values(model, axis, codes) if axis in model.exogenous else codes
    size = int(np.prod(cards)) if cards else 1
    out = model.mechanism(name, values, _CPU).expand(size)
    weight = torch.ones(size, dtype=torch.float64)
    for axis, grid in zip(axes, grids, strict=True):
        if axis in summed:
            probs = torch.as_tensor(model.exogenous[axis].probs, dtype=torch.float64)
            weight = weight * probs[torch.as_tensor(grid.reshape(-1))]
    table = torch.zeros(k, size, dtype=torch.float64)
    table[out, torch.arange(size)] = weight
    table = table.reshape(k, *cards)
    if summed:
        table = table.sum(dim=tuple(range(1 + len(inputs), 1 + len(axes))))
    return table.to(device)


def contract_query(
    model: CompiledModel,
    target: str,
    *,
    evidence: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    soft: Mapping[str, torch.Tensor],
    rows: int,
    do: Mapping[str, torch.Tensor] | None,
    counterfactual_do: Mapping[str, torch.Tensor] | None,
    device: torch.device,
) -> torch.Tensor:
    """Unnormalised ``[rows, |domain(target)|]``: P(target-in-its-world, evidence row) for each row.

    An exogenous ``target`` is the same in both worlds: the answer is P(target, evidence row).
    """
    import opt_einsum

    do = dict(do or {})
    observed = set(evidence) | set(soft)
    asked = {target} if target in model.variables else set()
    factual = model.ancestors(observed | asked)
    copied: set[str] = set()
    if counterfactual_do is not None:
        copied = (set(counterfactual_do) | model.descendants(list(counterfactual_do))) & model.ancestors(
            asked
        )
    # Noise that appears in more than one factor needs its own index; the rest is summed in place.
    users: dict[str, int] = {}
    for name in factual:
        if name in do:
            continue
        for noise in model.variables[name].noise:
            users[noise] = users.get(noise, 0) + 1
    for name in copied:
        if counterfactual_do is not None and name in counterfactual_do:
            continue
        for noise in model.variables[name].noise:
            users[noise] = users.get(noise, 0) + 1
    explicit = {noise for noise, count in users.items() if count > 1} | (set(model.exogenous) & {target})

    operands: list[Any] = []

    def add(tensor: torch.Tensor, indices: list[Any]) -> None:
        operands.extend([tensor, indices])

    for noise in sorted(explicit):
        add(torch.as_tensor(model.exogenous[noise].probs, dtype=torch.float64, device=device), [("u", noise)])

    def variable_factor(name: str, world: str, interventions: Mapping[str, torch.Tensor]) -> None:
        k = _card(model, name)
        index = (world, name)
        if name in interventions:
            onehot = torch.zeros(k, dtype=torch.float64, device=device)
            onehot[int(interventions[name])] = 1.0
            add(onehot, [index])
            return
        variable = model.variables[name]
        noise_in = [n for n in variable.noise if n in explicit]
        summed = [n for n in variable.noise if n not in explicit]
        inputs = list(variable.parents) + noise_in
        table = _factor(model, name, inputs, summed, device)
        parent_world = {p: ("cf" if world == "cf" and p in copied else "f") for p in variable.parents}
        indices = [index] + [(parent_world[p], p) for p in variable.parents] + [("u", n) for n in noise_in]
        add(table, indices)

    for name in model.order:
        if name in factual:
            variable_factor(name, "f", do)
    for name in model.order:
        if name in copied:
            variable_factor(name, "cf", counterfactual_do or {})
    for name, (codes, mask) in evidence.items():
        k = _card(model, name)
        rows_factor = torch.nn.functional.one_hot(codes, k).to(torch.float64)
        rows_factor[~mask] = 1.0
        add(rows_factor.to(device), ["b", ("f", name)])
    for name, likelihood in soft.items():
        add(likelihood.to(device), [("f", name)])
    answer = ("u", target) if target in model.exogenous else ("cf" if target in copied else "f", target)
    if not evidence:
        add(torch.ones(rows, dtype=torch.float64, device=device), ["b"])
    # opt_einsum's interleaved form wants integer indices.
    numbers: dict[Any, int] = {}
    for i in range(1, len(operands), 2):
        operands[i] = [numbers.setdefault(index, len(numbers)) for index in operands[i]]
    output = [numbers.setdefault("b", len(numbers)), numbers[answer]]
    return opt_einsum.contract(*operands, output, optimize="greedy")
