"""bench/gpu.sh is run where a GPU is lent, rarely: its code is checked here on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_script_runs_every_row_in_a_dry_run(tmp_path: Path) -> None:
    pytest.importorskip("pykeen")
    env = {**os.environ, "MMREASON_GPU_DRY_RUN": "1"}
    done = subprocess.run(
        [str(ROOT / "bench" / "gpu.sh"), str(tmp_path)], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "full" / "gpu.json").read_text())
    tasks = [row["task"] for row in report["comparisons"]]
    assert [t.split(":")[0] for t in tasks] == ["CLIP", "SCM", "GNN", "GNN"]
    assert report["params"]["dry_run"] is True and report["failures"] == []
