"""Programs: what a question asks, as a short sequence of operations (as NS-VQA does on CLEVR)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["FAMILIES", "Op", "Program"]

#: The question families the grammar knows, in the order the parser tries them.
FAMILIES = (
    "counterfactual",
    "intervention",
    "observation",
    "explanation",
    "count",
    "exist",
    "spatial",
    "knowledge",
    "attribute",
    "temporal",
)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: ``select``, ``filter``, ``count``, ``exist``, ``query``, ``verify``, ``relate``,
    ``closest``, ``on``, ``type``, ``rule``, ``follow``, ``subclass``, ``superclass``, ``observe``,
    ``explain``, ``causes``, ``do``, ``counterfactual``, ``when``, ``at``."""

    name: str
    args: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(klass, name: str, /, **args: Any) -> Op:
        return klass(name, MappingProxyType(dict(args)))

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self.args.items())
        return f"{self.name}({inner})"


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed question: its family, the operations to run, and the words each slot resolved from.

    >>> Program("count", "How many tomatoes?", (Op.of("select", cls="http://x#Tomato"), Op.of("count")))
    Program(count: select(cls=Tomato) -> count())
    """

    family: str
    question: str
    ops: tuple[Op, ...]
    resolved: tuple[tuple[str, str, float, float], ...] = ()  # (phrase, concept key, similarity, p)

    def __repr__(self) -> str:
        return f"Program({self.family}: {' -> '.join(map(str, self.ops))})"

    @property
    def confidence(self) -> float:
        """How sure the parser is of its reading: the product of its slots' probabilities (each
        slot's choice among its candidates, :meth:`~mmreason.qa.lexicon.Lexicon.rank`)."""
        confidence = 1.0
        for *_, p in self.resolved:
            confidence *= p
        return confidence


def _short(value: Any) -> str:
    if isinstance(value, str) and ("#" in value or "/" in value):
        return value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    if isinstance(value, dict | MappingProxyType):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)
