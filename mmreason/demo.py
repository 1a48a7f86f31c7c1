"""The main job: render the bundled scenes, answer a question set about each, run the bundled
scenarios, and write the reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmreason.paths import bundled_scenarios_dir

if TYPE_CHECKING:
    from mmreason.answer import Answer
    from mmreason.devices import DeviceLike
    from mmreason.scenarios import WhatIfResult

__all__ = ["DEMO_QUESTIONS", "DEMO_SEEDS", "DemoResult", "run_demo"]

#: Scenes of the rendered world the demo asks about.
DEMO_SEEDS = (2, 8, 5)
#: One question of each family, asked in order as one conversation per scene.
DEMO_QUESTIONS = (
    "How many cars are there?",
    "Is there a bus?",
    "What colour is the traffic light?",
    "Is the road wet?",
    "Which vehicle is closest to the crosswalk?",
    "What colour is the one nearest the crosswalk?",
    "Is anyone on the crosswalk?",
    "How fast is the vehicle going?",
    "Is the vehicle braking?",
    "Must the vehicles stop?",
    "Is the road slippery?",
    "Are there vulnerable road users?",
    "Why is the road wet?",
    "What happens to the braking distance if the road is dry?",
    "Had the road been dry, would it have stopped in time?",
)


@dataclass(frozen=True, slots=True)
class DemoResult:
    answers: tuple[tuple[int, tuple[Answer, ...]], ...]
    scenarios: tuple[WhatIfResult, ...]
    questions_report: Path
    whatif_report: Path

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.scenarios)


def run_demo(
    out: str | Path,
    *,
    device: DeviceLike = "auto",
    seeds: Sequence[int] = DEMO_SEEDS,
    questions: Sequence[str] = DEMO_QUESTIONS,
    scenarios: Sequence[str | Path] | None = None,
) -> DemoResult:
    """Run the demo and write ``out/questions.md`` and ``out/whatif.md`` with their images and plots."""
    from rich.progress import track

    from mmreason.reasoner import Reasoner
    from mmreason.report import write_qa_report, write_whatif_report
    from mmreason.vision.world import render_scene

    out = Path(out)
    reasoner = Reasoner.default(device=device)
    sessions = []
    answers = []
    for seed in track(list(seeds), description="questions"):
        image, _ = render_scene(seed)
        chat = reasoner.conversation(image)
        turn = tuple(chat.ask(q) for q in questions)
        answers.append((seed, turn))
        sessions.append((f"scene {seed}", image, reasoner.ground(image), turn))
    files = (
        sorted(bundled_scenarios_dir().glob("*.toml")) if scenarios is None else [Path(p) for p in scenarios]
    )
    results = tuple(reasoner.what_if(path) for path in track(files, description="scenarios"))
    return DemoResult(
        answers=tuple(answers),
        scenarios=results,
        questions_report=write_qa_report(sessions, out),
        whatif_report=write_whatif_report(results, out),
    )
