"""Batch reasoning: every question about every image of a folder, on one machine or a Ray cluster.

>>> from mmreason.batch import reason
>>> summary = reason(world="crossing", images="frames/", questions="questions.txt",
...                  out="results.parquet", engine="local", workers=2)   # doctest: +SKIP

One task is one image with all the questions: a worker grounds the image once,
answers every question, forgets the image (so an answer never depends on which
images a worker saw before, whatever the engine), and sends the rows back.

- **Engines.** ``local`` is a pool of worker processes on this machine
  (:mod:`concurrent.futures`, spawned, not forked, so no torch state is copied);
  ``ray`` is one Ray actor per worker, on a running cluster (``address``) or on a
  local one started for the run. Each worker builds one :class:`~mmreason.reasoner.Reasoner`
  and keeps it for all its tasks. The rows are the same whatever the engine.
- **Streaming.** Images are listed lazily and read by the workers, never by the
  driver; at most ``2 × workers`` tasks are in flight.
- **Rows as they finish.** Each finished image's rows are appended to a journal
  (``OUT.journal.jsonl``, flushed and fsynced); at the end the journal becomes the
  Parquet file (written to a temporary name and renamed) and is removed.
- **Restart.** A run that finds a journal (or a finished Parquet file) skips the
  images already in it: after a crash of the driver nothing is lost and nothing is
  answered twice. A torn last line of the journal is dropped. A journal written for
  other questions or another world is refused.
- **Dead workers.** A worker killed mid-task is replaced and its task runs again
  (local: the pool is rebuilt; Ray: actor restarts with task retries); a task that
  kills its worker three times becomes a row with an ``error``. An image that cannot
  be read becomes rows with an ``error``, not a failed batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmreason.errors import InvalidInputError, MissingFileError, MmreasonError

__all__ = [
    "ENGINES",
    "BatchSummary",
    "ReasonerConfig",
    "iter_images",
    "read_questions",
    "read_results",
    "reason",
    "what_if",
]

#: The engines :func:`reason` and :func:`what_if` run on.
ENGINES = ("local", "ray")
#: Suffixes of the files a folder of images contributes (stills and clips).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
#: Times a task may take its worker down before it is recorded as an error.
MAX_ATTEMPTS = 3
#: The Parquet columns, in order.
COLUMNS = (
    "image",
    "question_index",
    "question",
    "text",
    "value",
    "confidence",
    "family",
    "unit",
    "steps",
    "error",
    "seconds",
    "worker",
)
#: Columns that depend on where and when a row was computed, not on its content.
RUN_COLUMNS = ("seconds", "worker")


@dataclass(frozen=True, slots=True)
class ReasonerConfig:
    """How each worker builds its Reasoner (plain values: it travels to other processes)."""

    world: str | None = None
    device: str = "cpu"
    predictor: str | None = None
    min_score: float = 0.5
    #: torch threads per worker. One: the workers are the parallelism, and a fixed count keeps
    #: floating-point sums in the same order, so every engine and worker count gives the same rows.
    threads: int = 1

    @classmethod
    def of(cls, world: str | Path | None, **options: Any) -> ReasonerConfig:
        return cls(world=None if world is None else str(world), **options)

    def build(self) -> Any:
        from mmreason.reasoner import Reasoner

        return Reasoner.from_world(
            self.world, device=self.device, predictor=self.predictor, min_score=self.min_score
        )


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What a run did: rows written, images skipped as already done, failures, timings."""

    out: Path
    images: int
    skipped: int
    rows: int
    answered: int
    errors: int
    seconds: float
    engine: str
    workers: int
    worker_restarts: int = 0
    per_worker: Mapping[str, int] = field(default_factory=dict)

    @property
    def questions_per_second(self) -> float:
        """Rows answered in this run per second of its wall time (models loading included)."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.images} images ({self.skipped} already done) → {self.rows} rows, {self.errors} with an "
            f"error, in {self.seconds:.1f} s on {self.engine} × {self.workers}: {self.out}"
        )


# --------------------------------------------------------------------------- inputs


def read_questions(path: str | Path) -> list[str]:
    """Questions from a text file, one per line; blank lines and lines starting with ``#`` are skipped.

    Raises:
        MissingFileError: no such file.
        InvalidInputError: not UTF-8 text (the message names the file), or no question in it.
    """
    source = Path(path)
    if not source.is_file():
        raise MissingFileError(source)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    questions = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not questions:
        raise InvalidInputError(f"{source}: no questions (one per line; # starts a comment)")
    return questions


def iter_images(root: str | Path) -> Iterator[tuple[str, Path]]:
    """``(key, path)`` for every still or clip under ``root``, in a stable order, listed lazily.

    The key is the path relative to ``root`` with ``/`` separators: the same on every machine.
    """
    from mmreason.reasoner import VIDEO_SUFFIXES

    base = Path(root)
    if not base.is_dir():
        raise InvalidInputError(f"{base}: not a folder of images")
    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES

    def walk(folder: Path) -> Iterator[tuple[str, Path]]:
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                yield from walk(path)
            elif Path(entry.name).suffix.lower() in suffixes:
                yield path.relative_to(base).as_posix(), path

    yield from walk(base)


# --------------------------------------------------------------------------- the worker side

_STATE: dict[str, Any] = {}


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _init(config: ReasonerConfig, questions: Sequence[str]) -> None:
    """Set this worker up (the local pool's initializer; a Ray actor's constructor); its Reasoner
    is built on the first task and kept for every later one."""
    import torch

    torch.set_num_threads(config.threads)
    _STATE.clear()
    _STATE.update(config=config, questions=tuple(questions))


def _reasoner() -> Any:
    if "reasoner" not in _STATE:
        _STATE["reasoner"] = _STATE["config"].build()
    return _STATE["reasoner"]


def noop(value: Any) -> Any:
    """A task that does nothing: what the engines' own cost per task is measured with."""
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | bool | str) or value is None:
        return value
    return str(value)


def answer_image(key: str, path: str) -> list[dict[str, Any]]:
    """Every question about one image, as rows; the image is forgotten afterwards."""
    reasoner, questions = _reasoner(), _STATE["questions"]
    worker = _worker_name()
    rows = []
    try:
        for index, question in enumerate(questions):
            start = time.perf_counter()
            try:
                answer = reasoner.ask(path, question)
            except MmreasonError as exc:
                rows.append(_error_row(key, index, question, f"{type(exc).__name__}: {exc}", worker))
                continue
            rows.append(
                {
                    "image": key,
                    "question_index": index,
                    "question": question,
                    "text": answer.text or answer.to_dict()["text"],
                    "value": json.dumps(_jsonable(answer.value)),
                    "confidence": float(answer.confidence),
                    "family": answer.family,
                    "unit": answer.unit,
                    "steps": json.dumps([s.to_dict() for s in answer.steps]),
                    "error": None,
                    "seconds": time.perf_counter() - start,
                    "worker": worker,
                }
            )
    finally:
        reasoner.forget_images()
    return rows


def run_scenario(path: str) -> Any:
    """One what-if scenario file, run by this worker's Reasoner."""
    return _reasoner().what_if(path)


def _error_row(key: str, index: int, question: str, error: str, worker: str) -> dict[str, Any]:
    return {
        "image": key,
        "question_index": index,
        "question": question,
        "text": "",
        "value": "null",
        "confidence": 0.0,
        "family": "",
        "unit": None,
        "steps": "[]",
        "error": error,
        "seconds": 0.0,
        "worker": worker,
    }


_JOBS: dict[str, Callable[..., Any]] = {
    "answer_image": answer_image,
    "run_scenario": run_scenario,
    "noop": noop,
}

# --------------------------------------------------------------------------- engines

Job = tuple[str, tuple[Any, ...]]  # (function name in this module, its arguments)


class _Engine:
    """Runs jobs on workers that each built their Reasoner once; yields (job id, result) as they finish."""

    workers: int
    restarts: int = 0

    def run(self, jobs: Iterable[tuple[Any, Job]]) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _LocalEngine(_Engine):
    def __init__(self, workers: int, config: ReasonerConfig, questions: Sequence[str]) -> None:
        self.workers, self.config, self.questions = workers, config, tuple(questions)
        self.pool = self._pool()

    def _pool(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init,
            initargs=(self.config, self.questions),
        )

    def run(self, jobs: Iterable[tuple[Any, Job]]) -> Iterator[tuple[Any, Any]]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pending = iter(jobs)
        window = 2 * self.workers
        in_flight: dict[Any, tuple[Any, Job, int]] = {}
        retry: list[tuple[Any, Job, int]] = []
        exhausted = False
        answered_since_start = False

        def submit(job_id: Any, job: Job, attempt: int) -> None:
            future = self.pool.submit(_call, job)
            in_flight[future] = (job_id, job, attempt)

        while True:
            while len(in_flight) < window and (retry or not exhausted):
                if retry:
                    submit(*retry.pop(0))
                    continue
                try:
                    job_id, job = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                submit(job_id, job, 1)
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                job_id, job, attempt = in_flight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    retry.append((job_id, job, attempt + 1))
                    continue
                answered_since_start = True
                yield job_id, result
            if broken and not answered_since_start and self.restarts >= MAX_ATTEMPTS - 1:
                raise MmreasonError(
                    f"the {self.workers} worker process(es) died {MAX_ATTEMPTS} times before answering "
                    "anything (their error is printed above: a model that cannot load, not enough memory)"
                )
            if broken:
                # A worker died (killed, out of memory): every job in flight is lost with the pool.
                retry.extend((job_id, job, attempt + 1) for job_id, job, attempt in in_flight.values())
                in_flight.clear()
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.restarts += 1
                self.pool = self._pool()
                failed = [r for r in retry if r[2] > MAX_ATTEMPTS]
                retry = [r for r in retry if r[2] <= MAX_ATTEMPTS]
                for job_id, job, _ in failed:
                    yield job_id, _WorkerDied(job)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _WorkerDied:
    """A job whose worker died MAX_ATTEMPTS times."""

    def __init__(self, job: Job) -> None:
        self.job = job


def _call(job: Job) -> Any:
    name, args = job
    return _JOBS[name](*args)


class _RayEngine(_Engine):
    def __init__(
        self, workers: int, config: ReasonerConfig, questions: Sequence[str], address: str | None
    ) -> None:
        try:
            import ray
        except ImportError:
            raise InvalidInputError(
                "engine='ray' needs Ray: pip install 'mmreason[distributed]'"
            ) from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                options["address"] = address
            else:
                options["num_cpus"] = workers
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(**options)
            self.started = True
        actor = ray.remote(num_cpus=1, max_restarts=MAX_ATTEMPTS, max_task_retries=MAX_ATTEMPTS)(_RayWorker)
        self.workers = workers
        self.actors = [actor.remote(config, tuple(questions)) for _ in range(workers)]

    def run(self, jobs: Iterable[tuple[Any, Job]]) -> Iterator[tuple[Any, Any]]:
        ray = self.ray
        pending = iter(jobs)
        in_flight: dict[Any, tuple[Any, Job, int]] = {}
        load = dict.fromkeys(range(len(self.actors)), 0)
        exhausted = False
        while True:
            while not exhausted and min(load.values()) < 2:
                try:
                    job_id, job = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                slot = min(load, key=load.__getitem__)
                ref = self.actors[slot].call.remote(job)
                in_flight[ref] = (job_id, job, slot)
                load[slot] += 1
            if not in_flight:
                return
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                job_id, job, slot = in_flight.pop(ref)
                load[slot] -= 1
                try:
                    result = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError):
                    result = _WorkerDied(job)
                yield job_id, result

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()


class _RayWorker:
    """One Ray actor: its Reasoner is built once, in the constructor."""

    def __init__(self, config: ReasonerConfig, questions: tuple[str, ...]) -> None:
        _init(config, questions)

    def call(self, job: Job) -> Any:
        return _call(job)

    def pid(self) -> int:
        return os.getpid()


def _engine(
    engine: str, workers: int, config: ReasonerConfig, questions: Sequence[str], address: str | None
) -> _Engine:
    if engine == "local":
        if address:
            raise InvalidInputError("address= applies to engine='ray' only")
        return _LocalEngine(workers, config, questions)
    if engine == "ray":
        return _RayEngine(workers, config, questions, address)
    raise InvalidInputError(f"engine={engine!r}: expected one of {', '.join(ENGINES)}")


def _workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidInputError(f"workers={workers!r}: expected a whole number ≥ 1")
    return workers


# --------------------------------------------------------------------------- the journal


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal.jsonl")


def _fingerprint(config: ReasonerConfig, questions: Sequence[str]) -> str:
    text = json.dumps({"world": config.world, "questions": list(questions)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Journal:
    """Rows appended as images finish; read back to skip them on a restart."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.done: set[str] = set()
        self.rows = 0
        if path.exists():
            self._recover(fingerprint)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps({"mmreason_batch": 1, "fingerprint": fingerprint}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        self.handle = path.open("a", encoding="utf-8")

    def _recover(self, fingerprint: str) -> None:
        good = 0
        with self.path.open("rb") as handle:
            header = handle.readline()
            try:
                stated = json.loads(header).get("fingerprint")
            except (ValueError, AttributeError):
                stated = None
            if stated != fingerprint:
                raise InvalidInputError(
                    f"{self.path}: a journal of a batch with other questions or another world; "
                    "remove it (or the output) to start afresh"
                )
            good = handle.tell()
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # torn by a crash mid-write: that image runs again
                try:
                    entry = json.loads(line)
                except ValueError:
                    break
                self.done.add(entry["image"])
                self.rows += len(entry["rows"])
                good = handle.tell()
        with self.path.open("r+b") as handle:
            handle.truncate(good)

    def write(self, key: str, rows: list[dict[str, Any]]) -> None:
        self.handle.write(json.dumps({"image": key, "rows": rows}) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.done.add(key)
        self.rows += len(rows)

    def entries(self) -> Iterator[list[dict[str, Any]]]:
        with self.path.open("r", encoding="utf-8") as handle:
            handle.readline()
            for line in handle:
                yield json.loads(line)["rows"]

    def close(self) -> None:
        self.handle.close()


def _finish(out: Path, journal: _Journal, earlier: list[dict[str, Any]]) -> int:
    """Journal (plus the rows of a finished earlier output) → one sorted Parquet file, atomically."""
    import pandas as pd

    rows = list(earlier)
    for entry in journal.entries():
        rows.extend(entry)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame = frame.drop_duplicates(subset=["image", "question_index"], keep="first")
    frame = frame.sort_values(["image", "question_index"], kind="stable").reset_index(drop=True)
    frame["question_index"] = frame["question_index"].astype("int32")
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    frame.to_parquet(temporary, index=False)
    os.replace(temporary, out)
    journal.close()
    journal.path.unlink()
    return len(frame)


def read_results(path: str | Path) -> Any:
    """A results file as a pandas DataFrame (``value`` and ``steps`` are JSON text)."""
    import pandas as pd

    return pd.read_parquet(path)


# --------------------------------------------------------------------------- the entry points


def reason(
    world: str | Path | None = None,
    *,
    images: str | Path,
    questions: str | Path | Sequence[str],
    out: str | Path = "results.parquet",
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str = "cpu",
    predictor: str | None = None,
    min_score: float = 0.5,
    progress: bool = True,
    on_row: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Answer every question about every image under ``images``; rows go to ``out`` (Parquet).

    Args:
        world: a world folder or a bundled world's name (None: the default world).
        images: a folder of stills and clips (searched recursively; hidden files skipped).
        questions: a text file (one question per line) or a list of questions.
        out: the Parquet file to write; its journal sits beside it while the run lasts.
        engine: ``"local"`` (worker processes on this machine) or ``"ray"``.
        workers: how many workers (default: the CPU count, at most 8).
        address: a Ray cluster to join (``"auto"``, ``"ray://host:10001"``); default: start
            a local one for the run.
        progress: show a progress bar.
        on_row: called with each image's key when its rows are written (for tests and monitors).

    Raises:
        InvalidInputError: an unknown engine, a bad worker count, a journal of another batch.
        MissingFileError: the questions file is missing.
    """
    from tqdm.auto import tqdm

    from mmreason.worlds import resolve_world

    count = _workers(workers)
    resolve_world(world)  # a world that cannot load is refused here, not in every worker
    asked = read_questions(questions) if isinstance(questions, str | Path) else [str(q) for q in questions]
    if not asked:
        raise InvalidInputError("questions: no questions given")
    config = ReasonerConfig.of(world, device=device, predictor=predictor, min_score=min_score)
    target = Path(out)
    earlier: list[dict[str, Any]] = []
    if target.exists() and not journal_path(target).exists():
        earlier = read_results(target).to_dict("records")
    journal = _Journal(journal_path(target), _fingerprint(config, asked))
    done = journal.done | {row["image"] for row in earlier}
    listed = list(iter_images(images))
    todo = [(key, path) for key, path in listed if key not in done]
    start = time.perf_counter()
    per_worker: dict[str, int] = {}
    errors = answered = restarts = 0
    if todo:
        runner = _engine(engine, count, config, asked, address)
        try:
            jobs = ((key, ("answer_image", (key, str(path)))) for key, path in todo)
            desc = f"batch on {engine} × {count}"
            with tqdm(total=len(todo), unit="image", desc=desc, disable=not progress) as bar:
                for key, rows in runner.run(jobs):
                    if isinstance(rows, _WorkerDied):
                        message = f"the worker died {MAX_ATTEMPTS} times on this image"
                        rows = [_error_row(key, i, q, message, "") for i, q in enumerate(asked)]
                    journal.write(key, rows)
                    answered += len(rows)
                    errors += sum(row["error"] is not None for row in rows)
                    for row in rows:
                        per_worker[row["worker"]] = per_worker.get(row["worker"], 0) + 1
                    bar.update()
                    if on_row is not None:
                        on_row(key)
        finally:
            restarts = runner.restarts
            runner.close()
    seconds = time.perf_counter() - start
    total = _finish(target, journal, earlier)
    summary = BatchSummary(
        out=target,
        images=len(listed),
        skipped=len(listed) - len(todo),
        rows=total,
        answered=answered,
        errors=errors,
        seconds=seconds,
        engine=engine,
        workers=count,
        worker_restarts=restarts,
        per_worker=per_worker,
    )
    return summary


def what_if(
    files: Sequence[str | Path],
    *,
    world: str | Path | None = None,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str = "cpu",
    predictor: str | None = None,
    min_score: float = 0.5,
) -> list[Any]:
    """Run what-if scenario files on workers; the results come back in the order of ``files``."""
    for path in files:
        if not Path(path).is_file():
            raise MissingFileError(Path(path))
    count = min(_workers(workers), max(1, len(files)))
    config = ReasonerConfig.of(world, device=device, predictor=predictor, min_score=min_score)
    runner = _engine(engine, count, config, (), address)
    results: dict[int, Any] = {}
    try:
        for index, result in runner.run((i, ("run_scenario", (str(p),))) for i, p in enumerate(files)):
            if isinstance(result, _WorkerDied):
                raise MmreasonError(f"{files[index]}: the worker died {MAX_ATTEMPTS} times on this scenario")
            results[index] = result
    finally:
        runner.close()
    return [results[i] for i in range(len(files))]
