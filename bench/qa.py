"""Question answering on rendered scenes, scored against the world's truth and the simulator.

Each picture is a still of a simulated clip (``mmreason.worlds.crossing.sim``, code
of its own apart from the SCM) from a seed never used in training; questions of every
family are generated from its truth, and counterfactual ones are scored per question
against the simulator re-run on the clip's own draws under the intervention (CLEVRER's
protocol), never against the SCM the reasoner answers with.
Ours: the full Reasoner (image -> grounding -> KG -> SCM). Peer: the blind
"question-type prior" of the CLEVR paper (Johnson et al. 2017), which answers
each question form with its most frequent answer on training scenes and never
looks at the image, so the table shows what the image contributes.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import BenchReport, Comparison

# Seeds for the benchmark: far from the training (1e6+) and validation (2e6+) seed ranges.
SEED_OFFSET = 7_000_000
PRIOR_SEED_OFFSET = 8_000_000


def _questions(truth: Any, run: Any) -> list[tuple[str, str, Any]]:
    """(family, question, true answer) for one still; counterfactual truth is the simulator's re-run."""
    from mmreason.worlds.crossing.sim import simulate

    objects = truth.objects
    vehicles = [o for o in objects if o.type in ("car", "truck", "bus")]
    cars = [o for o in objects if o.type == "car"]
    walkers = [o for o in objects if o.type == "pedestrian"]
    colour = vehicles[0].color if vehicles else "red"
    nearest = next((o for o in objects if o.nearest), None)
    out: list[tuple[str, str, Any]] = [
        ("descriptive", "How many cars are there?", len(cars)),
        ("descriptive", f"How many {colour} vehicles are there?", sum(o.color == colour for o in vehicles)),
        ("descriptive", "Is there a bus?", any(o.type == "bus" for o in objects)),
        ("descriptive", "What colour is the traffic light?", truth.light),
        ("descriptive", "Is the road wet?", truth.road == "wet"),
        ("descriptive", "What is the weather?", truth.weather),
        ("descriptive", "Is anyone on the crosswalk?", any(o.on_crosswalk for o in walkers)),
        ("knowledge", "Must the vehicles stop?", truth.light == "red"),
        ("knowledge", "Is the road slippery?", truth.road == "wet"),
        ("knowledge", "Are there vulnerable road users?", bool(walkers)),
    ]
    if nearest is not None:
        out.append(
            ("descriptive", "Which vehicle is closest to the crosswalk?", f"{nearest.color} {nearest.type}")
        )
        # "The vehicle" is the one approaching nearest the crosswalk, as the reasoner reads it.
        out.append(("descriptive", "Is the vehicle braking?", bool(nearest.braking)))
    for do, text in COUNTERFACTUALS:
        out.append(("counterfactual", text, simulate(run.draws, **do).stopped))
    return out


# Counterfactual questions on a still, with the simulator's intervention each stands for.
COUNTERFACTUALS = (
    ({"surface": "dry"}, "Had the road been dry, would the car have stopped in time?"),
    ({"light": "red"}, "Would the car have stopped before the crosswalk if the light had been red?"),
)


# What a still can show of the crossing SCM: a perception oracle sees these exactly. The
# driver's response to the light is still to come at the instant of the picture; friction's
# noise and the brakes' noise stay hidden from any reader.
OBSERVABLE = (
    "Weather",
    "Road",
    "Light",
    "DistanceToCrosswalk",
    "PedestrianOnCrosswalk",
    "Speed",
)


def _oracle_counterfactual(scm: Any, truth: Any, question: str) -> bool:
    """The expert SCM's answer given the true observable values: the ceiling for any image reader."""
    do = (
        {"Road": "dry"}
        if "road had been dry" in question.lower() or "road been dry" in question.lower()
        else {"Light": "red"}
    )
    evidence = {name: truth.values[name] for name in OBSERVABLE}
    return float(scm.counterfactual("StopsInTime", evidence=evidence, do=do, samples=4000, seed=0)[1]) >= 0.5


def _form(question: str) -> str:
    """The question with its colour slot blanked: what the blind prior answers by."""
    return "How many X vehicles are there?" if "vehicles are there" in question else question


def _prior(scenes: int, render: Callable[[int], Any]) -> dict[str, Any]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for seed in range(PRIOR_SEED_OFFSET, PRIOR_SEED_OFFSET + scenes):
        _, truth, run = render(seed)
        for _, question, answer in _questions(truth, run):
            counts[_form(question)][answer] += 1
    return {form: counter.most_common(1)[0][0] for form, counter in counts.items()}


def _calibration(records: list[tuple[bool, float]]) -> tuple[float, float]:
    """(Brier score, expected calibration error over 10 bins) of (correct, confidence) pairs."""
    brier = statistics.fmean((conf - float(ok)) ** 2 for ok, conf in records)
    bins: dict[int, list[tuple[bool, float]]] = defaultdict(list)
    for ok, conf in records:
        bins[min(9, int(conf * 10))].append((ok, conf))
    ece = sum(
        len(b)
        / len(records)
        * abs(statistics.fmean(float(ok) for ok, _ in b) - statistics.fmean(c for _, c in b))
        for b in bins.values()
    )
    return brier, ece


def _same(answer: Any, truth: Any) -> bool:
    if isinstance(truth, (bool, int)):
        return answer == truth and type(answer) is type(truth)
    return str(answer).lower() == str(truth).lower()


def run(*, quick: bool, device: str, out: Path) -> BenchReport:
    from rich.progress import track

    from mmreason.errors import MmreasonError
    from mmreason.reasoner import Reasoner
    from mmreason.worlds.crossing.clip import render_still

    scenes = 20 if quick else 500
    reasoner = Reasoner.default(device=device)
    scm = reasoner.scm
    prior = _prior(50 if quick else 500, render_still)

    ours: dict[str, list[bool]] = defaultdict(list)
    peer: dict[str, list[bool]] = defaultdict(list)
    records: list[tuple[bool, float]] = []
    oracle: list[bool] = []
    failures: list[str] = []
    latencies: list[float] = []
    ground_times: list[float] = []
    for seed in track(range(SEED_OFFSET, SEED_OFFSET + scenes), description="qa"):
        image, truth, run = render_still(seed)
        start = time.perf_counter()
        reasoner.ground(image)
        ground_times.append(time.perf_counter() - start)
        chat = reasoner.conversation(image)
        for family, question, expected in _questions(truth, run):
            start = time.perf_counter()
            try:
                answer = chat.ask(question)
            except MmreasonError as exc:
                # A refusal is scored as a wrong answer given with full confidence, and listed.
                failures.append(f"seed {seed}: {question!r}: {exc}")
                ok, confidence = False, 1.0
            else:
                latencies.append(time.perf_counter() - start)
                ok, confidence = _same(answer.value, expected), answer.confidence
            ours[family].append(ok)
            records.append((ok, confidence))
            if family == "counterfactual":
                oracle.append(_oracle_counterfactual(scm, truth, question) == expected)
            peer[family].append(_same(prior.get(_form(question)), expected))

    comparisons = []
    targets = {"descriptive": 0.995, "knowledge": 0.99, "counterfactual": 0.90}
    for family in ("descriptive", "knowledge", "counterfactual"):
        acc, base = statistics.fmean(ours[family]), statistics.fmean(peer[family])
        comparisons.append(
            Comparison(
                f"{family} accuracy ({len(ours[family])} questions; target {targets[family]:.1%})",
                acc,
                base,
                "question-type prior (blind)",
                unit="",
                higher_is_better=True,
                ours_target=targets[family],
                agreement=f"ours {acc:.4f}, prior {base:.4f}",
            )
        )
    ceiling = statistics.fmean(oracle)
    comparisons.append(
        Comparison(
            "counterfactual accuracy vs a perception oracle (true observables, the same expert SCM)",
            statistics.fmean(ours["counterfactual"]),
            ceiling,
            "perception oracle (the expert SCM's ceiling against the simulator)",
            unit="",
            higher_is_better=True,
            agreement=f"oracle {ceiling:.4f}",
        )
    )
    brier, ece = _calibration(records)
    notes = (
        f"Brier score {brier:.4f}; ECE {ece:.4f} (target ≤ 0.03) over {len(records)} answers.",
        f"Warm latency per question: median {statistics.median(latencies) * 1e3:.1f} ms, "
        f"p95 {sorted(latencies)[int(0.95 * len(latencies))] * 1e3:.1f} ms (target ≤ 100 ms); "
        f"grounding per image: median {statistics.median(ground_times) * 1e3:.0f} ms.",
        f"{scenes} renders from seeds {SEED_OFFSET}..{SEED_OFFSET + scenes - 1}; device {reasoner.device}.",
        f"{len(failures)} question(s) refused with an error"
        + (": " + "; ".join(failures[:5]) if failures else "."),
    )
    return BenchReport(
        "qa",
        tuple(comparisons),
        params={
            "scenes": scenes,
            "brier": brier,
            "ece": ece,
            "latency_median_s": statistics.median(latencies),
            "ground_median_s": statistics.median(ground_times),
        },
        notes=notes,
    )
