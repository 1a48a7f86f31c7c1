"""Filtered rank-based evaluation of link prediction, vectorised in torch.

For every test triple (h, r, t) the model scores all entities as tails of
(h, r, ?) and as heads of (?, r, t) in one batched matrix product. Other
known true triples (training, validation and test) are filtered out of the
candidate lists (Bordes et al., 2013): the filter is a boolean mask set from the
known answers of each query, found by binary search in the known triples
sorted by query.

Ties get the *realistic* rank, the mean of the optimistic rank
(1 + number of strictly better candidates) and the pessimistic rank
(1 + number of candidates at least as good), PyKEEN's default. MRR and
Hits@k average over heads and tails together, as PyKEEN does for
``target="both"``.

>>> ranks = torch.tensor([1.0, 2.0, 4.0, 20.0])
>>> RankingMetrics.from_ranks(ranks, filtered=True).hits_at_3
0.5
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["KnownAnswers", "RankingMetrics", "filtered_ranks", "triple_keys"]


@dataclass(frozen=True, slots=True)
class RankingMetrics:
    """Rank-based link-prediction metrics over head and tail prediction together.

    Attributes:
        mrr: mean reciprocal (realistic) rank.
        hits_at_1: share of ranks ≤ 1.
        hits_at_3: share of ranks ≤ 3.
        hits_at_10: share of ranks ≤ 10.
        mean_rank: mean realistic rank.
        num_triples: test triples evaluated (each gives two ranks).
        filtered: whether other known triples were filtered out.
        tie_policy: how equal scores were ranked.
    """

    mrr: float
    hits_at_1: float
    hits_at_3: float
    hits_at_10: float
    mean_rank: float
    num_triples: int
    filtered: bool = True
    tie_policy: str = "realistic"

    @classmethod
    def from_ranks(cls, ranks: Tensor, *, filtered: bool) -> RankingMetrics:
        """Metrics from a tensor of realistic ranks (heads and tails together)."""
        ranks = ranks.double()
        return cls(
            mrr=float((1.0 / ranks).mean()),
            hits_at_1=float((ranks <= 1).double().mean()),
            hits_at_3=float((ranks <= 3).double().mean()),
            hits_at_10=float((ranks <= 10).double().mean()),
            mean_rank=float(ranks.mean()),
            num_triples=int(ranks.numel() // 2),
            filtered=filtered,
        )

    def to_dict(self) -> dict[str, float | int | bool | str]:
        return {name: getattr(self, name) for name in self.__slots__}


def triple_keys(triples: Tensor, num_entities: int, num_relations: int) -> Tensor:
    """One int64 key per (h, r, t) row: ``(h * R + r) * N + t``; sorted keys allow lookups."""
    h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
    return (h * num_relations + r) * num_entities + t


class KnownAnswers:
    """The known answers of every query, sorted by query, for building filter masks in O(answers).

    For tail queries the query is ``h * R + r`` and the answers are tails; for
    head queries it is ``t * R + r`` and the answers are heads.
    """

    def __init__(self, queries: Tensor, answers: Tensor) -> None:
        order = torch.argsort(queries)
        self.queries = queries[order]  # [K], sorted
        self.answers = answers[order]  # [K]

    @classmethod
    def of(cls, triples: Tensor, num_relations: int) -> tuple[KnownAnswers, KnownAnswers]:
        """(tail side, head side) answers of the known ``triples`` ``[K, 3]``."""
        h, r, t = triples[:, 0], triples[:, 1], triples[:, 2]
        return cls(h * num_relations + r, t), cls(t * num_relations + r, h)

    def mask(self, queries: Tensor, num_entities: int) -> Tensor:
        """``[B, N]`` bool: True where the entity is a known answer of the row's query ``[B]``."""
        lo = torch.searchsorted(self.queries, queries)
        hi = torch.searchsorted(self.queries, queries, right=True)
        counts = hi - lo
        rows = torch.repeat_interleave(torch.arange(queries.numel(), device=queries.device), counts)
        starts = torch.repeat_interleave(lo - torch.cumsum(counts, 0) + counts, counts)
        positions = starts + torch.arange(rows.numel(), device=queries.device)
        out = torch.zeros(queries.numel(), num_entities, dtype=torch.bool, device=queries.device)
        out[rows, self.answers[positions]] = True
        return out


def _realistic_rank(scores: Tensor, true_index: Tensor, known: Tensor | None) -> Tensor:
    # scores [B, N]; true_index [B]; known [B, N] True where a candidate is another known triple.
    true_score = scores.gather(1, true_index[:, None])
    better = scores > true_score
    at_least = scores >= true_score
    if known is not None:
        known = known.clone()
        known.scatter_(1, true_index[:, None], False)
        better &= ~known
        at_least &= ~known
    optimistic = 1.0 + better.sum(dim=1).double()
    pessimistic = at_least.sum(dim=1).double()  # counts the true candidate itself
    return (optimistic + pessimistic) / 2.0


@torch.no_grad()
def filtered_ranks(
    entities: Tensor,
    relations: Tensor,
    score_tails: Callable[[Tensor, Tensor, Tensor], Tensor],
    score_heads: Callable[[Tensor, Tensor, Tensor], Tensor],
    triples: Tensor,
    *,
    known: tuple[KnownAnswers, KnownAnswers] | None,
    num_relations: int,
    batch_size: int = 1024,
) -> Tensor:
    """Realistic ranks of the true tail and head of each triple, against all entities.

    Args:
        entities: ``[N, De]`` all entity embeddings.
        relations: ``[R, Dr]`` all relation parameters.
        score_tails: the interaction's all-tails scorer.
        score_heads: the interaction's all-heads scorer.
        triples: ``[M, 3]`` long (head, relation, tail) ids to rank.
        known: :meth:`KnownAnswers.of` every known triple, or ``None`` (raw ranks).
        num_relations: ``R``, for the keys.
        batch_size: test triples per batch.

    Returns:
        ``[2 * M]`` ranks: the M tail ranks, then the M head ranks.
    """
    num_entities = entities.shape[0]
    tail_ranks, head_ranks = [], []
    for batch in triples.to(entities.device).split(batch_size):
        h, r, t = batch[:, 0], batch[:, 1], batch[:, 2]
        tails = score_tails(entities[h], relations[r], entities)  # [B, N]
        heads = score_heads(entities, relations[r], entities[t])  # [B, N]
        known_tails = known_heads = None
        if known is not None:
            known_tails = known[0].mask(h * num_relations + r, num_entities)
            known_heads = known[1].mask(t * num_relations + r, num_entities)
        tail_ranks.append(_realistic_rank(tails, t, known_tails))
        head_ranks.append(_realistic_rank(heads, h, known_heads))
    if not tail_ranks:
        return torch.empty(0, dtype=torch.double)
    return torch.cat(tail_ranks + head_ranks).cpu()
