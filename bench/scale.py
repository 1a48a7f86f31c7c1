"""Beyond one process: batch reasoning on 1 and 2 workers, per-task overhead, DDP epochs/s, SPARQL.

Rows (our advantage above 1):

- **Batch throughput.** ``mmreason.batch.reason`` over the same rendered crossing stills and
  questions with 2 workers against 1, on the local pool and on Ray. Throughput is the steady
  state: images finished after each worker's first (which includes loading its models), over
  the time they took; the end-to-end wall time with model loading is in the notes. Every
  worker runs one torch thread, so a third row sets the 2 workers against the plain API (one
  in-process Reasoner with the machine's threads), which is what a user would run instead.
- **Identical rows.** The rows of 1 local worker, 2 local workers and 2 Ray actors, compared
  column by column (seconds and worker names aside).
- **kill -9.** A worker is killed after the first image is written; rows lost and duplicated.
- **Per-task overhead.** A task that does nothing, through our engines, against the bare
  library doing the same (``ProcessPoolExecutor.map`` with chunks of 1; plain Ray remote
  calls on actors), 2 workers each: wall time × workers / tasks.
- **DDP.** Kinships (PyKEEN's copy) with ``mmreason train-gnn --nproc 2`` against
  ``--nproc 1``: epochs per second inside the training loop, and the test MRR of both.
- **SPARQL.** ``instances_of`` on a server started as it comes (each query names its
  dataset: one extra small request) against one started with ``--union-default-graph``.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import BenchReport, Comparison

QUESTIONS = [
    "How many cars are there?",
    "What colour is the light?",
    "Must the car stop?",
    "Is the road wet?",
    "Had the road been dry, would the car have stopped in time?",
]


def _render(folder: Path, count: int) -> None:
    from mmreason.cli import main

    main(["render", "--world", "crossing", "--seed", "9000", "--count", str(count), "--out", str(folder)])
    for path in folder.glob("*.json"):
        path.unlink()


def _batch(folder: Path, out: Path, engine: str, workers: int, kill: bool = False) -> dict[str, Any]:
    from mmreason.batch import journal_path, reason

    stamps: list[float] = []
    killed: list[int] = []

    def on_row(key: str) -> None:
        stamps.append(time.perf_counter())
        if kill and not killed:
            last = journal_path(out).read_text().splitlines()[-1]
            pid = int(json.loads(last)["rows"][0]["worker"].rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    start = time.perf_counter()
    summary = reason(
        "crossing",
        images=folder,
        questions=QUESTIONS,
        out=out,
        engine=engine,
        workers=workers,
        progress=False,
        on_row=on_row,
    )
    wall = time.perf_counter() - start
    steady = stamps[workers - 1 :]  # after each worker's first image
    rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    return {
        "images_per_s": rate,
        "questions_per_s": rate * len(QUESTIONS),
        "wall": wall,
        "summary": summary,
        "killed": killed,
    }


def _in_process(folder: Path) -> dict[str, Any]:
    """The plain API: one Reasoner in this process, all the machine's threads."""
    import torch

    from mmreason.batch import iter_images
    from mmreason.reasoner import Reasoner

    torch.set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    reasoner = Reasoner.from_world("crossing", device="cpu")
    stamps = []
    for _, path in iter_images(folder):
        for question in QUESTIONS:
            reasoner.ask(path, question)
        reasoner.forget_images()
        stamps.append(time.perf_counter())
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    wall = time.perf_counter() - start
    return {"images_per_s": rate, "questions_per_s": rate * len(QUESTIONS), "wall": wall}


def _overhead(tasks: int) -> dict[str, float]:
    """Seconds per no-op task (wall × workers / tasks) through our engines and the bare libraries."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from mmreason.batch import ReasonerConfig, _engine, noop

    config = ReasonerConfig(world="crossing")
    out: dict[str, float] = {}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(noop, range(50)))  # start the workers
        start = time.perf_counter()
        list(pool.map(noop, range(tasks), chunksize=1))
        out["local_bare"] = (time.perf_counter() - start) * 2 / tasks
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for engine in ("local", "ray"):
            runner = _engine(engine, 2, config, (), None)
            try:
                list(runner.run((i, ("noop", (i,))) for i in range(50)))
                start = time.perf_counter()
                list(runner.run((i, ("noop", (i,))) for i in range(tasks)))
                out[engine] = (time.perf_counter() - start) * 2 / tasks
            finally:
                runner.close()  # frees the CPUs the bare actors below ask for

        @ray.remote(num_cpus=1)
        class Bare:
            def call(self, value: Any) -> Any:
                return value

        actors = [Bare.remote() for _ in range(2)]
        ray.get([a.call.remote(0) for a in actors])
        # The same window as our engine: two calls in flight per actor, the next sent as one returns.
        start = time.perf_counter()
        in_flight = [actors[i % 2].call.remote(i) for i in range(4)]
        sent = 4
        while in_flight:
            ready, in_flight = ray.wait(in_flight, num_returns=1)
            ray.get(ready)
            if sent < tasks:
                in_flight.append(actors[sent % 2].call.remote(sent))
                sent += 1
        out["ray_bare"] = (time.perf_counter() - start) * 2 / tasks
    finally:
        ray.shutdown()
    return out


def _kinships(folder: Path, nproc: int, epochs: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "mmreason", "--device", "cpu", "train-gnn", str(folder / "train.tsv")]
    command += ["--valid", str(folder / "valid.tsv"), "--test", str(folder / "test.tsv")]
    command += ["--model", "distmult", "--epochs", str(epochs), "--training", "slcwa"]
    command += ["--out", str(folder / f"model{nproc}"), "--nproc", str(nproc)]
    command += ["--metrics", str(folder / f"metrics{nproc}.json")]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    record = json.loads((folder / f"metrics{nproc}.json").read_text())
    record["wall"] = time.perf_counter() - start
    record["epochs_per_s"] = record["epochs_run"] / record["seconds"]
    return record


def _write_kinships(folder: Path) -> None:
    from pykeen.datasets import Kinships

    data = Kinships()
    for name, factory in (("train", data.training), ("valid", data.validation), ("test", data.testing)):
        entities = {v: k for k, v in factory.entity_to_id.items()}
        relations = {v: k for k, v in factory.relation_to_id.items()}
        rows = factory.mapped_triples.tolist()
        lines = [f"{entities[h]}\t{relations[r]}\t{entities[t]}" for h, r, t in rows]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")


def _sparql(queries: int) -> dict[str, float]:
    from rdflib import RDF, URIRef

    from mmreason.kg import KnowledgeGraph
    from tests.kg.conftest import OxigraphServer

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for union in (True, False):
            server = OxigraphServer(Path(tmp) / f"store-{union}", union=union).start()
            try:
                kg = KnowledgeGraph.open(f"sparql:{server.root}")
                kind = URIRef("http://example.org/Car")
                kg.add([(URIRef(f"http://example.org/car{i}"), RDF.type, kind) for i in range(1000)])
                kg.add([(URIRef("http://example.org/x"), RDF.type, kind)], graph="image")
                kg.instances_of(kind)
                seconds = []
                for _ in range(queries):
                    start = time.perf_counter()
                    assert len(kg.instances_of(kind)) == 1001
                    seconds.append(time.perf_counter() - start)
                out["union" if union else "plain"] = statistics.median(seconds)
            finally:
                server.stop()
    return out


def _same_rows(paths: list[Path]) -> bool:
    from mmreason.batch import RUN_COLUMNS, read_results

    frames = [read_results(p).drop(columns=list(RUN_COLUMNS)) for p in paths]
    return all(frames[0].equals(f) for f in frames[1:])


def run(*, quick: bool, device: str, out: Path) -> BenchReport:
    images = 10 if quick else 40
    notes: list[str] = []
    rows: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "frames"
        _render(folder, images)
        runs = {}
        for engine, workers in (("local", 1), ("local", 2), ("ray", 1), ("ray", 2)):
            runs[engine, workers] = _batch(folder, root / f"{engine}{workers}.parquet", engine, workers)
        plain = _in_process(folder)
        killed = _batch(folder, root / "killed.parquet", "local", 2, kill=True)
        for engine in ("local", "ray"):
            one, two = runs[engine, 1], runs[engine, 2]
            rows.append(
                Comparison(
                    f"batch questions/s, {engine}: 2 workers vs 1 ({images} images × {len(QUESTIONS)})",
                    two["questions_per_s"],
                    one["questions_per_s"],
                    f"{engine}, 1 worker",
                    unit="q/s",
                    higher_is_better=True,
                    target=1.7,
                )
            )
            notes.append(
                f"{engine}: images/s {one['images_per_s']:.3f} (1 worker) and {two['images_per_s']:.3f} "
                f"(2); end to end with model loading {one['wall']:.1f} s and {two['wall']:.1f} s"
            )
        rows.append(
            Comparison(
                "batch questions/s: 2 local workers vs the plain API (one Reasoner, 2 threads)",
                runs["local", 2]["questions_per_s"],
                plain["questions_per_s"],
                "in-process Reasoner",
                unit="q/s",
                higher_is_better=True,
            )
        )
        same = bool(_same_rows([root / "local1.parquet", root / "local2.parquet", root / "ray2.parquet"]))
        rows.append(
            Comparison(
                "identical rows: local × 1, local × 2, ray × 2",
                float(same),
                1.0,
                "local × 1",
                unit="",
                higher_is_better=True,
                agrees=same,
                agreement="every column but seconds and worker equal" if same else "rows differ",
            )
        )
        from mmreason.batch import read_results

        after = read_results(root / "killed.parquet")
        expected = images * len(QUESTIONS)
        lost = expected - after.drop_duplicates(["image", "question_index"]).shape[0]
        duplicated = int(after.duplicated(["image", "question_index"]).sum())
        intact = bool(lost == 0 and duplicated == 0 and after["error"].isna().all())
        rows.append(
            Comparison(
                "kill -9 of a worker mid-run: rows lost + duplicated",
                float(lost + duplicated),
                0.0,
                "none lost",
                unit="rows",
                agrees=intact,
                agreement=f"{lost} lost, {duplicated} duplicated, "
                f"{killed['summary'].worker_restarts} restart(s)",
            )
        )
        overhead = _overhead(400 if quick else 2000)
        peers = (("local", "local_bare", "ProcessPoolExecutor.map"), ("ray", "ray_bare", "Ray actor calls"))
        for engine, bare, name in peers:
            rows.append(
                Comparison(
                    f"per-task overhead, {engine} engine (no-op tasks, 2 workers)",
                    overhead[engine],
                    overhead[bare],
                    name,
                    unit="s",
                    ours_target=0.005,
                )
            )
        kin = root / "kinships"
        kin.mkdir()
        _write_kinships(kin)
        epochs = 10 if quick else 40
        one, two = _kinships(kin, 1, epochs), _kinships(kin, 2, epochs)
        rows.append(
            Comparison(
                f"Kinships epochs/s (DistMult, sLCWA, {epochs} epochs): 2 processes vs 1",
                two["epochs_per_s"],
                one["epochs_per_s"],
                "1 process",
                unit="epochs/s",
                higher_is_better=True,
            )
        )
        close = abs(two["test"]["mrr"] - one["test"]["mrr"]) < 0.03
        rows.append(
            Comparison(
                "Kinships test MRR: 2 processes vs 1",
                two["test"]["mrr"],
                one["test"]["mrr"],
                "1 process",
                unit="",
                higher_is_better=True,
                agrees=close,
                agreement="within 0.03" if close else "differ by 0.03 or more",
            )
        )
        notes.append(
            f"train-gnn wall time with process start: {one['wall']:.1f} s (1 process), "
            f"{two['wall']:.1f} s (2, through torchrun)"
        )
        sparql = _sparql(50 if quick else 200)
        rows.append(
            Comparison(
                "SPARQL instances_of: server as it comes (dataset named) vs --union-default-graph",
                sparql["plain"],
                sparql["union"],
                "union default graph",
                unit="s",
            )
        )
    return BenchReport(
        "scale",
        tuple(rows),
        params={"images": images, "questions": len(QUESTIONS), "cpus": os.cpu_count(), "device": "cpu"},
        notes=tuple(notes),
    )
