"""Reports people read: Markdown with plots of factual vs. what-if distributions and grounded images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmreason.answer import Answer
    from mmreason.scenarios import QueryOutcome, WhatIfResult

__all__ = ["draw_scene", "write_qa_report", "write_whatif_report"]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:60] or "item"


def draw_scene(image: Any, scene: Any, path: Path) -> Path:
    """Save ``image`` with the grounded boxes of ``scene`` drawn and labelled."""
    from PIL import ImageDraw

    picture = image.convert("RGB").copy()
    draw = ImageDraw.Draw(picture)
    for region in scene.regions:
        draw.rectangle(region.bbox, outline=(255, 255, 0), width=1)
    for obj in scene.objects:
        first = next(iter(obj.attributes.values()), None)
        words = "" if first is None else f"{first.value} "
        draw.rectangle(obj.bbox, outline=(255, 0, 255), width=2)
        draw.text(
            (obj.bbox[0], max(0, obj.bbox[1] - 11)),
            f"{words}{obj.type.value} {obj.type.confidence:.2f}",
            fill=(255, 0, 255),
        )
    summary = ", ".join(f"{a.value} {a.confidence:.2f}" for a in scene.attributes.values())
    draw.text((4, 4), summary, fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


def _plot_outcome(outcome: QueryOutcome, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 3))
    factual, result = outcome.factual, outcome.result
    if hasattr(result, "items"):
        values = [str(v) for v in result]
        x = np.arange(len(values))
        ax.bar(x - 0.2, [factual[v] for v in result], width=0.4, label="factual")
        ax.bar(x + 0.2, [result[v] for v in result], width=0.4, label=outcome.query.kind)
        ax.set_xticks(x, values)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
    else:
        for dist, label in ((factual, "factual"), (result, outcome.query.kind)):
            samples = np.asarray(dist.samples, dtype=float)
            weights = np.asarray(dist.weights, dtype=float)
            if samples.size == 1 or np.ptp(samples) == 0:
                ax.axvline(float(samples.flat[0]), label=label, color="C1" if label != "factual" else "C0")
            else:
                ax.hist(samples, weights=weights / weights.sum(), bins=40, alpha=0.6, label=label)
        ax.set_xlabel(outcome.query.target)
    ax.set_title(outcome.query.name, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_whatif_report(results: Sequence[WhatIfResult], out: str | Path) -> Path:
    """Write ``out/whatif.md`` with one section per scenario, plots and grounded images beside it."""
    from mmreason.scenarios import describe

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    passed = sum(r.passed for r in results)
    lines = ["# What-if report", "", f"{passed} of {len(results)} scenarios passed.", ""]
    for result in results:
        slug = _slug(result.scenario.name)
        status = "passed" if result.passed else "FAILED"
        lines += [f"## {result.scenario.name} ({status})", "", result.scenario.description.strip(), ""]
        if result.scene is not None and result.image is not None:
            image = draw_scene(result.image, result.scene, out / f"{slug}-grounded.png")
            lines += [f"![grounded image]({image.name})", ""]
        if result.steps:
            lines += ["Evidence from the image:", ""] + [f"- {s.detail}" for s in result.steps] + [""]
        if result.scenario.evidence:
            lines += [
                "Evidence from the scenario: "
                + ", ".join(f"{k}={v}" for k, v in result.scenario.evidence.items()),
                "",
            ]
        lines += ["| query | factual | what-if | expectation |", "| --- | --- | --- | --- |"]
        for outcome in result.outcomes:
            mark = {True: "ok: ", False: "FAILED: ", None: ""}[outcome.passed]
            lines.append(
                f"| {outcome.result.query} | {describe(outcome.factual)} | {describe(outcome.result)} "
                f"| {mark}{outcome.check} |"
            )
        lines.append("")
        for i, outcome in enumerate(result.outcomes):
            plot = _plot_outcome(outcome, out / f"{slug}-{i}.png")
            lines += [f"![{outcome.query.name}]({plot.name})", ""]
    report = out / "whatif.md"
    report.write_text("\n".join(lines))
    return report


def write_qa_report(sessions: Sequence[tuple[str, Any, Any, Sequence[Answer]]], out: str | Path) -> Path:
    """Write ``out/questions.md``: per image (name, image, scene, answers), the image and each explanation."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Questions", ""]
    for name, image, scene, answers in sessions:
        lines += [f"## {name}", ""]
        if scene is not None:
            picture = draw_scene(image, scene, out / f"{_slug(name)}-grounded.png")
            lines += [f"![{name}]({picture.name})", ""]
        for answer in answers:
            lines += ["```text", answer.explain(), "```", ""]
    report = out / "questions.md"
    report.write_text("\n".join(lines))
    return report
