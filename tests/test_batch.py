"""Batch reasoning on real worker processes and a real local Ray cluster: rows, restarts, kills."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mmreason.batch import (
    RUN_COLUMNS,
    iter_images,
    journal_path,
    read_questions,
    read_results,
    reason,
    what_if,
)
from mmreason.cli import main
from mmreason.errors import InvalidInputError, MissingFileError
from mmreason.paths import bundled_scenarios_dir
from mmreason.reasoner import Reasoner

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How many cars are there?",
    "What colour is the light?",
    "Had the road been dry, would the car have stopped in time?",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six crossing renders in a folder with a subfolder and a file that is not an image."""
    root = tmp_path_factory.mktemp("frames")
    render = ["render", "--world", "crossing", "--seed", "3", "--count", "6", "--out", str(root / "a")]
    assert main(render) == 0  # scene-3.png … scene-8.png
    (root / "b").mkdir()
    for path in sorted((root / "a").glob("scene-[78].png")):
        path.rename(root / "b" / path.name)
    for path in (root / "a").glob("*.json"):
        path.unlink()
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def questions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("q") / "questions.txt"
    path.write_text("# the batch's questions\n" + "\n".join(QUESTIONS) + "\n\n")
    return path


def kill_the_last_worker_once(out: Path, killed: list[int]) -> Callable[[str], None]:
    """An ``on_row`` that SIGKILLs the worker which wrote the last journalled image, once."""

    def kill(key: str) -> None:
        if killed:
            return
        last = journal_path(out).read_text().splitlines()[-1]
        pid = int(json.loads(last)["rows"][0]["worker"].rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    return kill


def content(path: Path) -> pd.DataFrame:
    return read_results(path).drop(columns=list(RUN_COLUMNS))


def test_inputs(folder: Path, questions: Path, tmp_path: Path) -> None:
    keys = [key for key, _ in iter_images(folder)]
    assert keys == [f"a/scene-{i}.png" for i in range(3, 7)] + ["b/scene-7.png", "b/scene-8.png"]
    assert read_questions(questions) == QUESTIONS
    with pytest.raises(MissingFileError):
        read_questions(tmp_path / "none.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(InvalidInputError, match=r"empty\.txt: no questions"):
        read_questions(tmp_path / "empty.txt")
    (tmp_path / "latin.txt").write_bytes("Quelle fenêtre ?".encode("latin-1"))
    with pytest.raises(InvalidInputError, match=r"latin\.txt: not UTF-8"):
        read_questions(tmp_path / "latin.txt")
    with pytest.raises(InvalidInputError, match="engine='spark'"):
        reason("crossing", images=folder, questions=QUESTIONS, out=tmp_path / "r.parquet", engine="spark")
    with pytest.raises(InvalidInputError, match="workers=0"):
        reason("crossing", images=folder, questions=QUESTIONS, out=tmp_path / "r.parquet", workers=0)
    with pytest.raises(InvalidInputError, match="not a folder"):
        reason("crossing", images=tmp_path / "nowhere", questions=QUESTIONS, out=tmp_path / "r.parquet")


def test_rows_are_the_reasoners_answers(folder: Path, questions: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    summary = reason("crossing", images=folder, questions=questions, out=out, workers=2, progress=False)
    assert (summary.images, summary.skipped, summary.rows, summary.errors) == (6, 0, 18, 0)
    assert len(summary.per_worker) == 2  # both workers took images
    assert not journal_path(out).exists()
    rows = read_results(out)
    assert list(rows["image"].unique()) == [key for key, _ in iter_images(folder)]
    # The same answers as a Reasoner in this process, one image at a time.
    reasoner = Reasoner.from_world("crossing", device="cpu")
    groups = (group for _, group in rows.groupby("image", sort=False))
    for (key, path), group in zip(iter_images(folder), groups, strict=True):
        assert list(group["question"]) == QUESTIONS
        for question, (_, row) in zip(QUESTIONS, group.iterrows(), strict=True):
            answer = reasoner.ask(path, question)
            assert row["text"] == (answer.text or answer.to_dict()["text"]), (key, question)
            assert math.isclose(row["confidence"], answer.confidence, abs_tol=1e-6)
            assert json.loads(row["value"]) == answer.to_dict()["value"]
            assert [s["kind"] for s in json.loads(row["steps"])] == [s.kind for s in answer.steps]
        reasoner.forget_images()
    # Same rows with one worker (every worker runs one torch thread: sums in the same order).
    one = tmp_path / "one.parquet"
    reason("crossing", images=folder, questions=questions, out=one, workers=1, progress=False)
    pd.testing.assert_frame_equal(content(one), content(out))


def test_a_crash_of_the_driver_loses_and_repeats_nothing(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    journal = journal_path(out)
    seen: list[str] = []

    def crash_after_three(key: str) -> None:
        seen.append(key)
        if len(seen) == 3:
            raise KeyboardInterrupt  # the driver stops with three images written

    with pytest.raises(KeyboardInterrupt):
        reason("crossing", images=folder, questions=QUESTIONS, out=out, workers=2, on_row=crash_after_three)
    assert journal.exists() and not out.exists()
    with journal.open("a") as handle:
        handle.write('{"image": "b/scene-8.png", "rows": [{"imag')  # torn mid-write
    again: list[str] = []
    summary = reason("crossing", images=folder, questions=QUESTIONS, out=out, workers=2, on_row=again.append)
    assert summary.skipped == 3
    assert sorted(again) == sorted({key for key, _ in iter_images(folder)} - set(seen))
    rows = read_results(out)
    assert len(rows) == 18 and not rows.duplicated(["image", "question_index"]).any()
    # A rerun on a finished output does nothing; another set of questions is refused while a journal exists.
    assert reason("crossing", images=folder, questions=QUESTIONS, out=out, progress=False).skipped == 6
    journal.write_text('{"mmreason_batch": 1, "fingerprint": "0000"}\n')
    with pytest.raises(InvalidInputError, match="journal of a batch with other questions"):
        reason("crossing", images=folder, questions=QUESTIONS[:1], out=out, progress=False)


def test_a_worker_killed_mid_run_loses_and_repeats_no_row(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.parquet"
    killed: list[int] = []
    kill_a_worker = kill_the_last_worker_once(out, killed)
    summary = reason("crossing", images=folder, questions=QUESTIONS, out=out, workers=2, on_row=kill_a_worker)
    assert killed and summary.worker_restarts >= 1
    rows = read_results(out)
    assert len(rows) == 18 and rows["error"].isna().all()
    assert not rows.duplicated(["image", "question_index"]).any()


def test_an_unreadable_image_becomes_error_rows(tmp_path: Path) -> None:
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "r.parquet"
    summary = reason("crossing", images=tmp_path / "frames", questions=QUESTIONS[:2], out=out, workers=1)
    rows = read_results(out)
    assert summary.errors == 2 and rows["error"].str.contains("ImageError: .*broken.png").all()


def test_ray_gives_the_same_rows_and_survives_a_killed_actor(
    folder: Path, questions: Path, tmp_path: Path
) -> None:
    pytest.importorskip("ray")
    local = tmp_path / "local.parquet"
    reason("crossing", images=folder, questions=questions, out=local, workers=2, progress=False)
    out = tmp_path / "ray.parquet"
    killed: list[int] = []
    kill_an_actor = kill_the_last_worker_once(out, killed)

    summary = reason(
        "crossing", images=folder, questions=questions, out=out, engine="ray", workers=2, on_row=kill_an_actor
    )
    assert killed and summary.errors == 0
    rows = read_results(out)
    assert not rows.duplicated(["image", "question_index"]).any()
    pd.testing.assert_frame_equal(content(out), content(local))


def test_whatif_fan_out_matches_one_process() -> None:
    files = sorted(bundled_scenarios_dir().glob("*.toml"))[:3]
    reasoner = Reasoner.from_world("crossing", device="cpu")
    serial = [reasoner.what_if(path).summary() for path in files]
    fanned = what_if(files, world="crossing", engine="local", workers=2)
    assert [result.summary() for result in fanned] == serial


def test_cli_batch(folder: Path, questions: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.parquet"
    command = [sys.executable, "-m", "mmreason", "batch", "--world", "crossing", "--images", str(folder)]
    command += ["--questions", str(questions), "--out", str(out), "--workers", "2", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "6 images (0 already done) → 18 rows, 0 with an error" in done.stdout
    assert len(read_results(out)) == 18


def test_cli_whatif_fan_out() -> None:
    files = [str(p) for p in sorted(bundled_scenarios_dir().glob("*.toml"))[:2]]
    base = [sys.executable, "-m", "mmreason", "--device", "cpu", "whatif", "--world", "crossing", *files]
    serial = subprocess.run(base, capture_output=True, text=True, timeout=600, check=False)
    command = [*base, "--engine", "local", "--workers", "2"]
    fanned = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert serial.returncode == fanned.returncode == 0, fanned.stderr[-2000:]
    assert fanned.stdout == serial.stdout and "scenario" in serial.stdout
