"""Answers that say how they were reached: value, confidence, and the ordered steps behind them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "Step"]

#: The kinds of step an answer records, in the order a reader meets them.
STEP_KINDS = ("ground", "parse", "scene", "sparql", "gnn", "causal")


@dataclass(frozen=True, slots=True)
class Step:
    """One step behind an answer.

    ``kind`` is ``"ground"`` (facts read from the image, with CLIP scores),
    ``"parse"`` (the program the question became), ``"scene"`` (facts of the
    grounded scene the answer used), ``"sparql"`` (a query run on the KG),
    ``"gnn"`` (facts a GNN predicted, with scores) or ``"causal"`` (a query of
    a structural causal model, with its evidence and interventions).
    """

    kind: str
    detail: str
    confidence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "confidence": round(float(self.confidence), 4)}


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one question.

    ``value`` is an ``int`` for counts, a ``bool`` for yes/no questions, a
    lower-case word for colours and states, a float (with ``unit``) for
    quantities, or a tuple of words for lists; ``None`` when the image does
    not show what was asked about (``text`` says so).

    >>> step = Step("scene", "no bus among 3 objects", 0.97)
    >>> a = Answer("Is there a bus?", False, 0.97, (step,), text="no")
    >>> print(a.explain())
    Is there a bus? no (confidence 0.97)
      1. [scene] no bus among 3 objects (0.97)
    """

    question: str
    value: Any
    confidence: float
    steps: tuple[Step, ...]
    text: str = ""
    family: str = ""
    unit: str | None = None
    #: The ids of the grounded objects the answer is about ("the red car" of "which car is
    #: closest?"): what "it" refers to in the next turn of a conversation.
    about: tuple[str, ...] = ()

    def explain(self) -> str:
        """The answer and every step behind it, as text a person reads."""
        lines = [f"{self.question} {self.text or _words(self.value)} (confidence {self.confidence:.2f})"]
        for i, step in enumerate(self.steps, 1):
            lines.append(f"  {i}. [{step.kind}] {step.detail} ({step.confidence:.2f})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        out: dict[str, Any] = {
            "question": self.question,
            "value": value,
            "confidence": round(float(self.confidence), 4),
            "text": self.text or _words(self.value),
            "family": self.family,
            "steps": [s.to_dict() for s in self.steps],
        }
        if self.unit:
            out["unit"] = self.unit
        if self.about:
            out["about"] = list(self.about)
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _words(value: Any) -> str:
    if value is None:
        return "not in the image"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, tuple):
        return ", ".join(map(_words, value)) if value else "nothing"
    return str(value)
