"""The main job: a world's demo pictures, its question set about each as one conversation, its
scenarios, and the reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmreason.answer import Answer
    from mmreason.devices import DeviceLike
    from mmreason.scenarios import WhatIfResult
    from mmreason.worlds import World

__all__ = ["DemoResult", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoResult:
    answers: tuple[tuple[str, tuple[Answer, ...]], ...]  # (picture's name, its answers)
    scenarios: tuple[WhatIfResult, ...]
    questions_report: Path
    whatif_report: Path

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.scenarios)


def run_demo(
    out: str | Path,
    *,
    world: World | str | Path | None = None,
    device: DeviceLike = "auto",
) -> DemoResult:
    """Run a world's demo (its manifest's ``[demo]``: renderer seeds or images, questions, scenarios)
    and write ``out/questions.md`` and ``out/whatif.md`` with their images and plots."""
    from rich.progress import track

    from mmreason.reasoner import Reasoner
    from mmreason.report import write_qa_report, write_whatif_report
    from mmreason.vision.images import load_image
    from mmreason.worlds import resolve_world

    out = Path(out)
    loaded = resolve_world(world)
    reasoner = Reasoner.from_world(loaded, device=device)
    pictures: list[tuple[str, Any]] = []
    if loaded.demo.seeds:
        render = loaded.load_renderer()
        pictures += [(f"scene {seed}", render(seed)[0]) for seed in loaded.demo.seeds]
    pictures += [(path.name, load_image(path)) for path in loaded.demo.images]
    sessions = []
    answers = []
    for name, image in track(pictures, description="questions"):
        chat = reasoner.conversation(image)
        turn = tuple(chat.ask(q) for q in loaded.demo.questions)
        answers.append((name, turn))
        sessions.append((name, image, reasoner.ground(image), turn))
    results = tuple(
        reasoner.what_if(path) for path in track(list(loaded.demo.scenarios), description="scenarios")
    )
    return DemoResult(
        answers=tuple(answers),
        scenarios=results,
        questions_report=write_qa_report(sessions, out),
        whatif_report=write_whatif_report(results, out),
    )
