"""Data-parallel training through torchrun: two real CPU processes (gloo) against one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PyKEEN's Nations (shipped in its wheel) as head<TAB>relation<TAB>tail tables."""
    datasets = pytest.importorskip("pykeen.datasets")
    folder = tmp_path_factory.mktemp("nations")
    data = datasets.Nations()
    for name, factory in (("train", data.training), ("valid", data.validation), ("test", data.testing)):
        entities = {v: k for k, v in factory.entity_to_id.items()}
        relations = {v: k for k, v in factory.relation_to_id.items()}
        triples = factory.mapped_triples.tolist()
        lines = [f"{entities[h]}\t{relations[r]}\t{entities[t]}" for h, r, t in triples]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    return folder


def train(folder: Path, out: Path, nproc: int, training: str) -> dict:
    command = [sys.executable, "-m", "mmreason", "--device", "cpu", "train-gnn", str(folder / "train.tsv")]
    command += ["--valid", str(folder / "valid.tsv"), "--test", str(folder / "test.tsv")]
    command += ["--model", "distmult", "--epochs", "40", "--training", training, "--out", str(out)]
    command += ["--nproc", str(nproc), "--metrics", str(out) + ".json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"on {nproc} process(es) (cpu)" in done.stdout
    assert any(out.iterdir())  # rank 0 saved the checkpoint
    return json.loads(Path(str(out) + ".json").read_text())


def test_two_processes_take_the_steps_of_one(nations: Path, tmp_path: Path) -> None:
    # LCWA scores every entity, with no random negatives: the gradient summed over the two
    # halves of each batch is the whole batch's gradient, so the metrics agree to rounding.
    one = train(nations, tmp_path / "one", 1, "lcwa")
    two = train(nations, tmp_path / "two", 2, "lcwa")
    assert two["processes"] == 2 and one["processes"] == 1
    assert two["test"]["mrr"] == pytest.approx(one["test"]["mrr"], abs=2e-3)
    assert two["valid"]["mrr"] == pytest.approx(one["valid"]["mrr"], abs=2e-3)


def test_sampled_negatives_agree_within_noise(nations: Path, tmp_path: Path) -> None:
    # sLCWA: each process draws its own negatives, so the runs differ as two seeds do.
    one = train(nations, tmp_path / "one", 1, "slcwa")
    two = train(nations, tmp_path / "two", 2, "slcwa")
    assert one["test"]["mrr"] > 0.5
    assert abs(two["test"]["mrr"] - one["test"]["mrr"]) < 0.05, (one["test"], two["test"])
