"""What SCM queries return: distributions, never bare numbers.

A finite target gives a :class:`DiscreteDistribution` (a read-only mapping
value -> probability); a real target gives a :class:`SampleDistribution`
(weighted samples with ``mean()``, ``quantile(q)``; one point when the evidence
pins every noise term). A batch of queries gives a :class:`DistributionBatch`,
a sequence with one distribution per evidence row. No distribution holds nan or
±inf: the constructors refuse them.

>>> d = DiscreteDistribution("W", (0, 1), (0.25, 0.75), query="P(W)")
>>> d[1], d.mode(), d.mean()
(0.75, 1, 0.75)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

__all__ = ["DiscreteDistribution", "Distribution", "DistributionBatch", "SampleDistribution"]


class Distribution:
    """Base of query results: the distribution of one variable in one (possibly counterfactual) world."""

    variable: str
    query: str

    def mean(self) -> float:
        raise NotImplementedError

    def quantile(self, q: float) -> float:
        raise NotImplementedError


def _check_q(q: float) -> None:
    from mmreason.errors import InvalidInputError

    if not 0.0 <= float(q) <= 1.0:
        raise InvalidInputError(f"q must lie in [0, 1], found {q!r}")


def _check_finite(variable: str, what: str, values: Any) -> None:
    if not np.isfinite(np.asarray(values, dtype=np.float64)).all():
        from mmreason.errors import InvalidInputError

        raise InvalidInputError(f"the {what} of {variable!r} must be finite numbers, found nan or ±inf")


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1] - 1e-12, side="left"))
    return float(values[order][min(index, len(values) - 1)])


@dataclass(frozen=True, eq=False)
class DiscreteDistribution(Distribution, Mapping):
    """Probabilities over a finite domain; a read-only ``Mapping`` value -> probability.

    Attributes:
        variable: the target variable.
        domain: the values of ``variable``, in the model's order.
        probabilities: one probability per value; they sum to 1.
        query: the query that produced it, e.g. ``"P(W | do(S=1))"``.
    """

    variable: str
    domain: tuple[Any, ...]
    probabilities: tuple[float, ...]
    query: str = ""

    def __post_init__(self) -> None:
        _check_finite(self.variable, "probabilities", self.probabilities)

    def __getitem__(self, value: Any) -> float:
        for v, p in zip(self.domain, self.probabilities, strict=True):
            if v == value:
                return p
        raise KeyError(f"{value!r} is not a value of {self.variable!r}: {list(self.domain)}")

    def __iter__(self) -> Iterator[Any]:
        return iter(self.domain)

    def __len__(self) -> int:
        return len(self.domain)

    def __eq__(self, other: object) -> bool:
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def mode(self) -> Any:
        """The most probable value (the first one on ties)."""
        return self.domain[int(np.argmax(self.probabilities))]

    def mean(self) -> float:
        """The expectation; only for numeric domains."""
        if not all(isinstance(v, (int, float)) for v in self.domain):
            from mmreason.errors import InvalidInputError

            raise InvalidInputError(
                f"{self.variable!r} has non-numeric values {list(self.domain)}; it has no mean"
            )
        return float(np.dot(np.asarray(self.domain, dtype=float), self.probabilities))

    def quantile(self, q: float) -> float:
        _check_q(q)
        self.mean()  # numeric check
        return _weighted_quantile(np.asarray(self.domain, float), np.asarray(self.probabilities), q)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: the query and each value's probability."""
        return {
            "variable": self.variable,
            "query": self.query,
            "probabilities": {str(v): float(p) for v, p in zip(self.domain, self.probabilities, strict=True)},
        }

    def __repr__(self) -> str:
        body = ", ".join(f"{v!r}: {p:.6g}" for v, p in zip(self.domain, self.probabilities, strict=True))
        return f"DiscreteDistribution({self.query or self.variable}: {{{body}}})"


@dataclass(frozen=True, eq=False)
class SampleDistribution(Distribution):
    """Weighted samples of a real-valued variable.

    ``exact`` is true when every sample is the same point: the evidence pinned
    every noise term, so the counterfactual is a single value, not an estimate.

    >>> d = SampleDistribution("X", np.array([1.0, 2.0, 3.0]), np.array([0.25, 0.5, 0.25]))
    >>> d.mean(), d.quantile(0.5)
    (2.0, 2.0)
    """

    variable: str
    samples: np.ndarray  # [M]
    weights: np.ndarray  # [M], sums to 1
    query: str = ""

    def __post_init__(self) -> None:
        _check_finite(self.variable, "samples", self.samples)
        _check_finite(self.variable, "weights", self.weights)

    @property
    def exact(self) -> bool:
        return bool(len(self.samples) > 0 and np.ptp(self.samples) == 0.0)

    @property
    def effective_sample_size(self) -> float:
        return float(1.0 / np.sum(self.weights**2))

    def mean(self) -> float:
        return float(np.dot(self.samples, self.weights))

    def std(self) -> float:
        mean = self.mean()
        return float(np.sqrt(np.dot((self.samples - mean) ** 2, self.weights)))

    def quantile(self, q: float) -> float:
        _check_q(q)
        return _weighted_quantile(self.samples, self.weights, q)

    def probability(self, low: float = -np.inf, high: float = np.inf) -> float:
        """P(low <= value < high)."""
        inside = (self.samples >= low) & (self.samples < high)
        return float(self.weights[inside].sum())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: mean, standard deviation, 5/50/95% quantiles, exactness."""
        return {
            "variable": self.variable,
            "query": self.query,
            "mean": self.mean(),
            "std": self.std(),
            "quantiles": {
                "0.05": self.quantile(0.05),
                "0.5": self.quantile(0.5),
                "0.95": self.quantile(0.95),
            },
            "exact": self.exact,
            "samples": len(self.samples),
        }

    def __repr__(self) -> str:
        if self.exact:
            return f"SampleDistribution({self.query or self.variable}: exactly {self.samples[0]:.6g})"
        return (
            f"SampleDistribution({self.query or self.variable}: mean {self.mean():.6g}, "
            f"5%..95% [{self.quantile(0.05):.6g}, {self.quantile(0.95):.6g}], n={len(self.samples)})"
        )


class DistributionBatch(Sequence[Distribution]):
    """One distribution per evidence row, held as arrays; items are built on access.

    ``probabilities`` is ``[rows, len(domain)]`` for a finite target; ``samples`` and
    ``weights`` are ``[rows, M]`` for a real one.
    """

    def __init__(
        self,
        variable: str,
        *,
        domain: tuple[Any, ...] | None = None,
        probabilities: np.ndarray | None = None,
        samples: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        query: str = "",
    ) -> None:
        self.variable = variable
        self.domain = domain
        self.probabilities = probabilities
        self.samples = samples
        self.weights = weights
        self.query = query

    def __len__(self) -> int:
        data = self.probabilities if self.probabilities is not None else self.samples
        return 0 if data is None else int(data.shape[0])

    @overload
    def __getitem__(self, index: int) -> Distribution: ...
    @overload
    def __getitem__(self, index: slice) -> list[Distribution]: ...
    def __getitem__(self, index: int | slice) -> Distribution | list[Distribution]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        query = f"{self.query} [row {index}]" if len(self) > 1 else self.query
        if self.probabilities is not None:
            assert self.domain is not None
            return DiscreteDistribution(
                self.variable, self.domain, tuple(map(float, self.probabilities[index])), query
            )
        assert self.samples is not None and self.weights is not None
        keep = self.weights[index] > 0
        return SampleDistribution(self.variable, self.samples[index][keep], self.weights[index][keep], query)

    def means(self) -> np.ndarray:
        """The mean of every row, ``[rows]``."""
        if self.probabilities is not None:
            return self.probabilities @ np.asarray(self.domain, dtype=float)
        assert self.samples is not None and self.weights is not None
        # Worlds of weight 0 take no part (their samples are not read, as in __getitem__).
        return np.sum(np.where(self.weights > 0, self.samples, 0.0) * self.weights, axis=1)

    def __repr__(self) -> str:
        return f"DistributionBatch({self.query or self.variable}, rows={len(self)})"
