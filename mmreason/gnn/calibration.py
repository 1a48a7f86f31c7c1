"""Platt scaling: raw link-prediction scores to probabilities (Platt, 1999).

A calibration is fitted on held-out true triples against the other
candidates of their queries, so ``p`` reads "how often a candidate with this
score truly completes its query".

>>> import torch
>>> Calibration(slope=2.0, intercept=-1.0)(torch.tensor([0.5]))
tensor([0.5000])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from mmreason.gnn.predictor import LinkPredictor

__all__ = ["Calibration", "fit_calibration"]


@dataclass(frozen=True, slots=True)
class Calibration:
    """Platt scaling of raw scores: ``p = sigmoid(slope * score + intercept)`` (Platt, 1999).

    Fitted on validation triples against the other candidates of their
    queries (each query's non-true entities, sampled and weighted to stand for
    all of them), so a probability reads "how often a candidate with this
    score completes its query truly".
    """

    slope: float = 1.0
    intercept: float = 0.0
    fitted_on: str = "none"

    def __call__(self, scores: Tensor) -> Tensor:
        return torch.sigmoid(self.slope * scores + self.intercept)


def fit_calibration(
    predictor: LinkPredictor, triples: Tensor, *, seed: int, samples_per_query: int = 64, source: str = ""
) -> Calibration:
    """Fit Platt scaling on ``triples`` ``[M, 3]`` against sampled other candidates of their queries."""
    if triples.shape[0] == 0:
        return Calibration()
    n = predictor.id_maps.num_entities
    generator = torch.Generator().manual_seed(seed)
    known = predictor._known_keys(triples)
    pos_scores, neg_scores, neg_weights = [], [], []
    with torch.no_grad():
        for batch in triples.split(512):
            for side in ("tail", "head"):
                heads = None if side == "head" else batch[:, 0]
                tails = None if side == "tail" else batch[:, 2]
                scores = predictor.all_scores(heads, batch[:, 1], tails, exclude_known=False)
                true = batch[:, 2] if side == "tail" else batch[:, 0]
                pos_scores.append(scores.gather(1, true[:, None])[:, 0])
                m = min(samples_per_query, n - 1)
                if m <= 0:
                    continue
                pick = torch.randint(n, (batch.shape[0], m), generator=generator)
                if side == "tail":
                    keys = (batch[:, 0:1] * predictor.id_maps.num_relations + batch[:, 1:2]) * n + pick
                else:
                    keys = (pick * predictor.id_maps.num_relations + batch[:, 1:2]) * n + batch[:, 2:3]
                keys = keys.to(known.device)
                pos = torch.searchsorted(known, keys).clamp_(max=known.numel() - 1)
                unknown = (known[pos] != keys).cpu()
                # Each sample stands for (number of other candidates) / m of them.
                weight = (n - 1) / m
                neg_scores.append(scores.gather(1, pick)[unknown])
                neg_weights.append(torch.full((int(unknown.sum()),), weight))
    pos = torch.cat(pos_scores).double()
    neg = torch.cat(neg_scores).double() if neg_scores else torch.empty(0, dtype=torch.double)
    weights = torch.cat([torch.ones_like(pos), torch.cat(neg_weights).double() if neg_weights else neg])
    x = torch.cat([pos, neg])
    y = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
    scale = x.std().clamp_min(1e-6)
    params = torch.zeros(2, dtype=torch.double, requires_grad=True)
    optimizer = torch.optim.LBFGS([params], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        logits = params[0] * (x / scale) + params[1]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, weight=weights)
        loss.backward()
        return loss

    optimizer.step(closure)
    slope, intercept = (params.detach() / torch.tensor([scale.item(), 1.0], dtype=torch.double)).tolist()
    return Calibration(slope=slope, intercept=intercept, fitted_on=source)
