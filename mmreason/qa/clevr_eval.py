"""Accuracy on a CLEVR question file, per family, from the pictures and from the true scenes.

``mmreason eval --world W --scenes scenes.json --questions questions.json
[--images DIR]`` reads each question's text (never its program: the program the
file carries is the generator's, and reading the text is part of what is
measured), parses it with the world's compositional grammar, and runs the
program twice: on the true scene graph of ``scenes.json`` (the ceiling:
language and program alone) and, with ``--images``, on what grounding reads
in the picture. Answers are compared with the file's as CLEVR writes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmreason.errors import InvalidInputError
from mmreason.qa.clevr import (
    CLEVR_FAMILIES,
    ProgramError,
    Question,
    execute,
    family_of,
    read_questions,
    read_scenes,
)

if TYPE_CHECKING:
    from mmreason.reasoner import Reasoner
    from mmreason.worlds import World

__all__ = ["EvalReport", "FamilyScore", "evaluate_questions"]


@dataclass(frozen=True, slots=True)
class FamilyScore:
    """One family's questions: how many, answered right from the pictures and on the true scenes."""

    family: str
    questions: int
    correct: int | None  # None when no pictures were read
    ceiling: int
    unparsed: int

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None else self.correct / max(self.questions, 1)

    @property
    def ceiling_accuracy(self) -> float:
        return self.ceiling / max(self.questions, 1)


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Scores per family and overall, with every wrong answer for inspection."""

    families: tuple[FamilyScore, ...]
    seconds_per_question: float
    mistakes: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def questions(self) -> int:
        return sum(f.questions for f in self.families)

    @property
    def accuracy(self) -> float | None:
        if any(f.correct is None for f in self.families):
            return None
        return sum(f.correct or 0 for f in self.families) / max(self.questions, 1)

    @property
    def ceiling(self) -> float:
        return sum(f.ceiling for f in self.families) / max(self.questions, 1)

    def table(self) -> str:
        """The scores as a Markdown table."""
        lines = [
            "| family | questions | from the pictures | true scenes (ceiling) | not parsed |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        rows = [
            *self.families,
            FamilyScore("all", self.questions, _total(self.families), _ceil(self), _unp(self)),
        ]
        for f in rows:
            shown = "—" if f.accuracy is None else f"{f.accuracy:.4f}"
            lines.append(
                f"| {f.family} | {f.questions} | {shown} | {f.ceiling_accuracy:.4f} | {f.unparsed} |"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "accuracy": self.accuracy,
            "ceiling": self.ceiling,
            "seconds_per_question": self.seconds_per_question,
            "families": [
                asdict(f) | {"accuracy": f.accuracy, "ceiling_accuracy": f.ceiling_accuracy}
                for f in self.families
            ],
            "mistakes": list(self.mistakes),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _total(families: Sequence[FamilyScore]) -> int | None:
    return None if any(f.correct is None for f in families) else sum(f.correct or 0 for f in families)


def _ceil(report: EvalReport) -> int:
    return sum(f.ceiling for f in report.families)


def _unp(report: EvalReport) -> int:
    return sum(f.unparsed for f in report.families)


def evaluate_questions(
    world: World | str | Path,
    scenes: str | Path,
    questions: str | Path,
    *,
    images: str | Path | None = None,
    reasoner: Reasoner | None = None,
    limit: int | None = None,
    progress: bool = False,
) -> EvalReport:
    """Score a CLEVR question file on a world (see the module).

    Raises:
        InvalidInputError: a file is not CLEVR's schema (naming the file and key), a question
            names an image index the scenes file lacks, or the world has no ``[questions]`` table.
        MissingFileError: a file, or with ``images`` a picture, does not exist.
    """
    from tqdm.auto import tqdm

    from mmreason.qa.compose import CompositionalParser
    from mmreason.worlds import resolve_world

    resolved = resolve_world(world)
    if resolved.questions is None:
        raise InvalidInputError(f"{resolved.manifest}: the world {resolved.name!r} has no [questions] table")
    attributes = tuple(resolved.questions.attributes)
    true_scenes = {s.image_index: s for s in read_scenes(scenes, attributes)}
    asked = read_questions(questions)[:limit]
    for q in asked:
        if q.image_index not in true_scenes:
            raise InvalidInputError(
                f"{questions}: questions[{q.index}].image_index: {q.image_index} "
                f"is not an image_index of {scenes}"
            )
    parser = CompositionalParser.for_world(resolved)
    if images is not None and reasoner is None:
        from mmreason.reasoner import Reasoner

        reasoner = Reasoner.from_world(resolved, device="cpu")
    counts: dict[str, list[int]] = {}
    mistakes: list[dict[str, Any]] = []
    programs: dict[str, list[dict[str, Any]] | None] = {}
    started = time.perf_counter()
    for q in tqdm(asked, desc="questions", disable=not progress):
        family = q.family or (family_of(q.program) if q.program else "unknown")
        tally = counts.setdefault(family, [0, 0, 0, 0])  # questions, right, ceiling, unparsed
        tally[0] += 1
        if q.question not in programs:
            programs[q.question] = parser.parse(q.question)
        program = programs[q.question]
        if program is None:
            tally[3] += 1
            mistakes.append(_mistake(q, family, None, None, "not parsed"))
            continue
        truth = _run(program, true_scenes[q.image_index])
        tally[2] += truth == q.answer
        if images is not None:
            assert reasoner is not None
            seen = _from_picture(
                reasoner, resolved, q, program, true_scenes[q.image_index].image_filename, images
            )
            tally[1] += seen == q.answer
            if seen != q.answer:
                mistakes.append(_mistake(q, family, program, seen, "picture"))
        if truth != q.answer:
            mistakes.append(_mistake(q, family, program, truth, "true scene"))
    elapsed = time.perf_counter() - started
    order = [f for f in CLEVR_FAMILIES if f in counts] + sorted(f for f in counts if f not in CLEVR_FAMILIES)
    families = tuple(
        FamilyScore(f, counts[f][0], counts[f][1] if images is not None else None, counts[f][2], counts[f][3])
        for f in order
    )
    return EvalReport(families, elapsed / max(len(asked), 1), tuple(mistakes))


def _run(program: list[dict[str, Any]], scene: Any) -> str | None:
    try:
        return execute(program, scene)
    except ProgramError:
        return None


def _from_picture(
    reasoner: Reasoner,
    world: World,
    q: Question,
    program: list[dict[str, Any]],
    filename: str,
    images: str | Path,
) -> str | None:
    from mmreason.errors import MissingFileError
    from mmreason.qa.scene_programs import answer_program

    path = Path(images) / (q.image_filename or filename)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such image (question {q.index}, image_index {q.image_index})")
    scene = reasoner.ground(path)
    answer = answer_program(q.question, program, scene, world, samples=0)
    return None if answer.value is None else answer.text


def _mistake(q: Question, family: str, program: Any, got: str | None, where: str) -> dict[str, Any]:
    return {
        "index": q.index,
        "question": q.question,
        "family": family,
        "expected": q.answer,
        "got": got,
        "where": where,
        "image_index": q.image_index,
    }
