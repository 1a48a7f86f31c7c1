"""Exact inference by enumerating the exogenous posterior, batched over evidence rows.

Pearl's three steps (Causality, §7.1) over a tensor of worlds:

1. **Abduction**: weight every joint value ``u`` of the exogenous variables by
   ``P(u) · P(evidence | u)``; for a finite model ``P(evidence | u)`` is an
   indicator, so the weights are the exact exogenous posterior.
2. **Action**: replace the mechanisms of the intervened variables by constants.
3. **Prediction**: run the modified model on the same worlds and read the
   target; its distribution is the posterior-weighted histogram.

This is the twin network evaluated by enumeration: the factual and the
counterfactual copies share every exogenous variable. A batch of evidence
rows is one ``[rows, worlds]`` weight matrix times a ``[worlds, values]``
one-hot matrix of the target.

Finite exogenous variables (and the response noise behind CPDs) are
enumerated exactly. Real-valued noise is sampled from its prior with a seed
(likelihood weighting), except where evidence pins it: an observed real
variable with an additive-noise mechanism ``x = g(parents) + n`` gives
``n = x - g(parents)`` in every world and weights the world by the density of
``n`` there. When every real noise term is pinned, the answer is exact.

The target may be an exogenous variable: its posterior is read off the same
weighted worlds as any endogenous target, since every world holds its value.
Both copies of the twin network share it, so its counterfactual distribution
is its posterior given the factual evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from mmreason.causal.model import CompiledModel
from mmreason.errors import ImpossibleEvidenceError

__all__ = ["EncodedEvidence", "InferenceResult", "infer"]

# Largest rows x worlds block evaluated at once.
_BLOCK = 1 << 23
# Above this many joint exogenous values, finite models are answered by tensor contraction.
_ENUMERATION_LIMIT = 1 << 22


@dataclass
class EncodedEvidence:
    """Evidence for ``rows`` queries, already validated and encoded.

    ``discrete`` and ``continuous`` map a variable to (values ``[rows]``, observed mask ``[rows]``);
    ``soft`` maps a finite variable to its likelihood vector ``[|domain|]``, shared by all rows.
    """

    rows: int
    discrete: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    continuous: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    soft: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class InferenceResult:
    """``probabilities`` ``[rows, K]`` (finite target), else ``samples``/``weights`` ``[rows, W]``."""

    probabilities: torch.Tensor | None
    samples: torch.Tensor | None
    weights: torch.Tensor | None
    exact: bool


@torch.inference_mode()
def infer(
    model: CompiledModel,
    target: str,
    evidence: EncodedEvidence,
    *,
    do: Mapping[str, torch.Tensor] | None,
    counterfactual_do: Mapping[str, torch.Tensor] | None,
    samples: int,
    seed: int,
    device: torch.device,
    describe_row: Callable[[int], str],
) -> InferenceResult:
    """Distribution of ``target`` (endogenous or exogenous) for each evidence row.

    ``do`` acts in the world where the evidence is observed (an interventional query);
    ``counterfactual_do`` (when not None) builds the second, counterfactual world.
    """
    noise_target = target in model.exogenous
    if noise_target:
        # The twin worlds share their noise: its counterfactual value is its factual posterior.
        counterfactual_do = None
    asked = set() if noise_target else {target}
    evidence = _without_unlinked_soft(model, target, evidence, do, counterfactual_do)
    # Only the ancestors of what is observed or asked are evaluated; the counterfactual
    # world recomputes only what the intervention can reach.
    observed_names = set(evidence.discrete) | set(evidence.continuous) | set(evidence.soft)
    factual_only = model.ancestors(observed_names | asked)
    relevant_noise = {noise for name in factual_only for noise in model.variables[name].noise}
    # The observed real variables whose recovered noise is read after abduction: by the
    # counterfactual world, or as the answer when the target is that noise.
    needed: set[str] = set()
    if counterfactual_do is not None:
        changed = set(counterfactual_do) | model.descendants(list(counterfactual_do))
        counterfactual_only = changed & model.ancestors({target})
        needed = counterfactual_only
    if noise_target:
        relevant_noise.add(target)
        pinning = {name: model.additive_noise[name] for name in evidence.continuous}
        needed = {name for name, (noise, _) in pinning.items() if noise == target}  # type: ignore[misc]
    domain = _domain(model, target)
    discrete_target = domain is not None

    if discrete_target and not evidence.continuous and evidence.rows > 0:
        sizes = [len(exo.values) for exo in model.enumerable() if exo.name in relevant_noise]
        finite = not any(exo.name in relevant_noise for exo in model.sampled())
        if finite and float(np.prod(sizes, dtype=float)) > _ENUMERATION_LIMIT:
            return _contracted(model, target, evidence, do, counterfactual_do, device, describe_row)

    # The worlds: finite exogenous variables enumerated on axis -2, real noise drawn on axis -1
    # (except where evidence pins it); every tensor broadcasts over [rows, enumerated, drawn].
    # Noise that nothing relevant reads sums out to 1 and is left out.
    enumerated, prior = model.enumerate_exogenous(device, relevant_noise)
    real_noise = [exo.name for exo in model.sampled() if exo.name in relevant_noise]
    everywhere = {name: bool(mask.all()) for name, (_, mask) in evidence.continuous.items()}
    pinned = {model.additive_noise[name][0] for name in evidence.continuous if everywhere[name]}  # type: ignore[index]
    free = [name for name in real_noise if name not in pinned]
    draws = samples if free else 1
    exact = not free
    generator = torch.Generator().manual_seed(int(seed))
    drawn = model.sample_exogenous(draws, generator, device, names=real_noise)
    num_enum = prior.shape[0]
    exogenous = {k: v.view(num_enum, 1) for k, v in enumerated.items()}
    exogenous.update({k: v.view(1, draws) for k, v in drawn.items()})
    log_prior = torch.log(prior).view(num_enum, 1)  # drawn noise: equal weights
    num_worlds = num_enum * draws
    world_shape = (num_enum, draws)

    rows = evidence.rows
    if rows == 0:
        empty = torch.zeros(0, len(domain or ()) or 1, dtype=torch.float64, device=device)
        if discrete_target:
            return InferenceResult(empty, None, None, exact=True)
        return InferenceResult(None, empty, empty, exact=True)
    block_rows = max(1, min(rows, _BLOCK // max(1, num_worlds)))
    results: list[tuple[torch.Tensor, ...]] = []
    impossible: list[int] = []

    shared = not evidence.continuous
    if shared:
        # Discrete evidence does not change the worlds: run each world once for every row.
        factual = model.run(exogenous, device, do=do, only=factual_only)
        predicted = (
            factual
            if counterfactual_do is None
            else model.run(
                exogenous, device, do=counterfactual_do, base=factual.values, only=counterfactual_only
            )
        )
        shared_log = (log_prior + _soft_log(evidence, factual.values)).expand(world_shape).reshape(-1)
        target_values = predicted.values[target].expand(world_shape).reshape(-1)  # [W]
        onehot = None
        if discrete_target:
            table = _by_evidence_pattern(
                model, target, evidence, factual.values, shared_log, target_values, world_shape
            )
            if table is not None:
                probabilities, impossible_rows = table
                if impossible_rows:
                    _raise_impossible(impossible_rows, describe_row, exact, samples)
                return InferenceResult(probabilities, None, None, exact=exact)

    for start in range(0, rows, block_rows):
        stop = min(rows, start + block_rows)
        count = stop - start
        shape = (count, *world_shape)
        if shared:
            values = {name: factual.values[name] for name in evidence.discrete}
            log_w = shared_log.view(1, *world_shape)
            block_target = target_values.unsqueeze(0)
        else:
            # Abduction per row: continuous evidence pins additive noise differently in each row.
            block_exo = {k: v.unsqueeze(0) for k, v in exogenous.items()}
            observed = {
                name: (
                    x[start:stop].view(count, 1, 1),
                    None if everywhere[name] else m[start:stop].view(count, 1, 1),
                )
                for name, (x, m) in evidence.continuous.items()
            }
            factual = model.run(
                block_exo,
                device,
                do=do,
                observed=observed,
                only=factual_only,
                densities=num_worlds > 1,
                needed=needed,
            )
            if counterfactual_do is None:
                predicted = factual
            else:
                abducted = {name: factual.values[name] for name in exogenous}
                predicted = model.run(
                    abducted, device, do=counterfactual_do, base=factual.values, only=counterfactual_only
                )
            values = {name: factual.values[name] for name in evidence.discrete}
            log_w = log_prior + factual.log_weight + _soft_log(evidence, factual.values)  # broadcastable
            block_target = predicted.values[target].expand(shape).reshape(count, num_worlds)
        # Abduction: evidence indicators on the finite variables.
        consistent = torch.ones((), dtype=torch.bool, device=device)
        for name, (codes, mask) in evidence.discrete.items():
            value = values[name] if values[name].dim() == 3 else values[name].unsqueeze(0)
            row_codes = codes[start:stop].view(count, 1, 1)
            consistent = consistent & ((value == row_codes) | ~mask[start:stop].view(count, 1, 1))
        if num_worlds == 1 and not shared:
            # One world per row (every noise term pinned): its weight is 1 unless impossible.
            bad = ~consistent | ~torch.isfinite(log_w)
            if bool(bad.any()):
                bad = bad.expand(shape).reshape(count)
                impossible.extend((torch.nonzero(bad).squeeze(1) + start).tolist())
                continue
            weights = torch.ones(count, 1, dtype=torch.float64, device=device)
        else:
            consistent = consistent.expand(shape).reshape(count, num_worlds)
            log_w = torch.where(consistent, log_w.expand(shape).reshape(count, num_worlds), -torch.inf)
            top = log_w.max(dim=1, keepdim=True).values  # [count, 1]
            bad = torch.isneginf(top.squeeze(1)) | torch.isnan(top.squeeze(1))
            if bool(bad.any()):
                impossible.extend((torch.nonzero(bad).squeeze(1) + start).tolist())
                continue
            weights = torch.exp(log_w - top)
            weights = weights / weights.sum(dim=1, keepdim=True)
        # Prediction: the weighted histogram (finite) or weighted samples (real) of the target.
        if discrete_target:
            if shared:
                if onehot is None:
                    onehot = _onehot(model, target, target_values)
                probabilities = weights @ onehot
            else:
                probabilities = torch.zeros(count, len(domain), dtype=torch.float64, device=device)
                probabilities.scatter_add_(1, block_target, weights)
            results.append((probabilities.clamp_(0.0, 1.0),))  # rounding may give 1 + 2e-16
        else:
            results.append((block_target.expand(count, num_worlds), weights))
    if impossible:
        _raise_impossible(impossible, describe_row, exact, samples)

    def joined(i: int) -> torch.Tensor:
        return results[0][i] if len(results) == 1 else torch.cat([r[i] for r in results])

    if discrete_target:
        return InferenceResult(joined(0), None, None, exact=exact)
    return InferenceResult(None, joined(0), joined(1), exact=exact)


def _contracted(
    model: CompiledModel,
    target: str,
    evidence: EncodedEvidence,
    do: Mapping[str, torch.Tensor] | None,
    counterfactual_do: Mapping[str, torch.Tensor] | None,
    device: torch.device,
    describe_row: Callable[[int], str],
) -> InferenceResult:
    """The same answers by tensor contraction (:mod:`mmreason.causal.factor`), for large finite models."""
    from mmreason.causal.factor import contract_query

    joint = contract_query(
        model,
        target,
        evidence=evidence.discrete,
        soft=evidence.soft,
        rows=evidence.rows,
        do=do,
        counterfactual_do=counterfactual_do,
        device=device,
    )  # [rows, K]
    total = joint.sum(dim=1, keepdim=True)
    zero = (total.squeeze(1) <= 0).nonzero().squeeze(1).tolist()
    if zero:
        _raise_impossible(zero, describe_row, True, 0)
    return InferenceResult((joint / total).clamp_(0.0, 1.0), None, None, exact=True)


def _raise_impossible(rows: list[int], describe_row: Callable[[int], str], exact: bool, samples: int) -> None:
    shown = "; ".join(describe_row(i) for i in rows[:3])
    more = f" (and {len(rows) - 3} more)" if len(rows) > 3 else ""
    reason = (
        "has probability 0 under the model"
        if exact
        else f"has probability 0 under the model, or too small for samples={samples} to reach"
    )
    raise ImpossibleEvidenceError(f"evidence {reason}: {shown}{more}")


def _by_evidence_pattern(
    model: CompiledModel,
    target: str,
    evidence: EncodedEvidence,
    values: Mapping[str, torch.Tensor],
    log_weight: torch.Tensor,  # [W]
    target_values: torch.Tensor,  # [W]
    world_shape: tuple[int, int],
) -> tuple[torch.Tensor, list[int]] | None:
    """Batched answers through one joint table instead of a [rows, worlds] mask.

    The worlds' weights are summed into ``T[e_1, ..., e_J, t]`` over the values of the
    evidence variables and the target; a row that observes the subset S of the evidence
    variables reads its answer off ``T`` summed over the others. Rows sharing S share that
    sum, so a batch costs one scatter plus one small sum per pattern. None when ``T`` would
    be too large (the caller then uses the mask).
    """
    names = list(evidence.discrete)
    dims = [len(model.variables[name].domain or ()) for name in names]
    k = len(_domain(model, target) or ())
    size = int(np.prod(dims)) if dims else 1
    if size * k > _BLOCK:
        return None
    device = log_weight.device
    key = torch.zeros(log_weight.shape[0], dtype=torch.long, device=device)
    for name, dim in zip(names, dims, strict=True):
        key = key * dim + values[name].expand(world_shape).reshape(-1)
    top = log_weight.max()
    if bool(torch.isneginf(top)):
        # No world is possible (soft evidence rules them all out): every row is impossible.
        top = torch.zeros_like(top)
    weights = torch.exp(log_weight - top)  # the common factor cancels in each row's normalisation
    table = torch.zeros(size * k, dtype=torch.float64, device=device)
    table.index_add_(0, key * k + target_values, weights)
    table = table.view(*dims, k)
    if not names:
        total = table.sum()
        answer = (table / total).clamp_(0.0, 1.0).expand(evidence.rows, k)
        return (answer.contiguous(), []) if float(total) > 0 else (answer, list(range(evidence.rows)))
    observed = torch.stack([evidence.discrete[name][1] for name in names], dim=1)  # [rows, J]
    codes = torch.stack([evidence.discrete[name][0] for name in names], dim=1)  # [rows, J]
    bits = (observed.long() << torch.arange(len(names), device=device)).sum(dim=1)
    out = torch.empty(evidence.rows, k, dtype=torch.float64, device=device)
    impossible: list[int] = []
    for pattern in torch.unique(bits).tolist():
        rows = torch.nonzero(bits == pattern).squeeze(1)
        kept = [j for j in range(len(names)) if pattern >> j & 1]
        summed = [j for j in range(len(names)) if not pattern >> j & 1]
        marginal = table.sum(dim=summed) if summed else table  # [dims of kept..., K]
        marginal = marginal.reshape(-1, k)
        index = torch.zeros(rows.shape[0], dtype=torch.long, device=device)
        for j in kept:
            index = index * dims[j] + codes[rows, j]
        numerator = marginal[index]  # [rows in pattern, K]
        total = numerator.sum(dim=1, keepdim=True)
        zero = (total.squeeze(1) <= 0).nonzero().squeeze(1)
        if zero.numel():
            impossible.extend(rows[zero].tolist())
        out[rows] = (numerator / total).clamp_(0.0, 1.0)
    return out, sorted(impossible)


def _onehot(model: CompiledModel, target: str, codes: torch.Tensor) -> torch.Tensor:
    k = len(_domain(model, target) or ())
    return torch.nn.functional.one_hot(codes, k).to(torch.float64)  # [W, K]


def _domain(model: CompiledModel, name: str) -> tuple[object, ...] | None:
    """The finite values of an endogenous or exogenous variable; None when it is real-valued."""
    return model.variables[name].domain if name in model.variables else model.exogenous[name].domain


def _without_unlinked_soft(
    model: CompiledModel,
    target: str,
    evidence: EncodedEvidence,
    do: Mapping[str, torch.Tensor] | None,
    counterfactual_do: Mapping[str, torch.Tensor] | None,
) -> EncodedEvidence:
    """The evidence without soft evidence that shares no ancestor or noise with the rest of the query.

    The worlds factor over the connected parts of the query's ancestral graph; a part
    that holds neither the target, hard evidence nor an intervention contributes the
    same factor to every world of the target's part, so its soft evidence changes no
    answer and only multiplies the worlds to enumerate. Soft evidence that rules a
    value out is kept, so that evidence no world satisfies is still refused.
    """
    if not evidence.soft:
        return evidence

    def reach(names: set[str]) -> tuple[set[str], set[str]]:
        ancestors = model.ancestors(names)
        return ancestors, {n for a in ancestors for n in model.variables[a].noise}

    asked = {target} if target in model.variables else set()
    anchors = {*asked, *evidence.discrete, *evidence.continuous, *(do or {}), *(counterfactual_do or {})}
    linked, noise = reach(anchors)
    noise |= {target} & set(model.exogenous)
    pending = {
        name: reach({name}) for name, likelihood in evidence.soft.items() if bool((likelihood > 0).all())
    }
    grew = True
    while grew:
        grew = False
        for name, (ancestors, own_noise) in list(pending.items()):
            if ancestors & linked or own_noise & noise:
                linked |= ancestors
                noise |= own_noise
                del pending[name]
                grew = True
    if not pending:
        return evidence
    soft = {name: likelihood for name, likelihood in evidence.soft.items() if name not in pending}
    return EncodedEvidence(evidence.rows, evidence.discrete, evidence.continuous, soft)


def _soft_log(evidence: EncodedEvidence, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
    some = next(iter(values.values()))
    total = torch.zeros((), dtype=torch.float64, device=some.device)
    for name, likelihood in evidence.soft.items():
        total = total + torch.log(likelihood)[values[name]]
    return total
