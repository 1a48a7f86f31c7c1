"""An installed wheel runs on its own: the bundled worlds, models and scenarios are package data.

The wheel is built from the checkout and installed, without the checkout, into a fresh virtual
environment outside it; the dependencies come from the test's environment through a ``.pth``
line (a path added that way runs none of its own ``.pth`` files, so the checkout's editable
install stays out). One question and the demo then run there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(CHECKOUT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = root.glob("mmreason-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return python, root


def _run(python, cwd, *args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ""}
    return subprocess.run([python, *args], capture_output=True, text=True, timeout=900, cwd=cwd, env=env)


def test_the_installed_package_is_not_the_checkout(installed):
    python, root = installed
    proc = _run(
        python, root, "-c", "import mmreason.paths as p; print(p.__file__); print(p.bundled_graphs_dir())"
    )
    assert proc.returncode == 0, proc.stderr
    module, graphs = proc.stdout.split()
    assert str(CHECKOUT) not in module and str(CHECKOUT) not in graphs
    assert (Path(graphs) / "crossing" / "clip" / "model.safetensors").is_file()


def test_a_question_and_the_demo_run_from_the_wheel(installed):
    python, root = installed
    proc = _run(
        python, root, "-m", "mmreason", "--device", "cpu", "ask", "-", "Is a bus a vehicle?", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"] is True
    proc = _run(python, root, "-m", "mmreason", "--device", "cpu", "demo", "--out", str(root / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert (root / "demo" / "questions.md").is_file() and (root / "demo" / "whatif.md").is_file()
    assert "scenario 'wet crossing': passed" in proc.stdout
