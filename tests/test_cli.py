import json
import subprocess
import sys

import pytest
import torch

import mmreason
from mmreason.cli import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mmreason", *args], capture_output=True, text=True, timeout=120
    )


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"mmreason {mmreason.__version__}"


def test_help_lists_only_working_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "info" in out
    assert "--device" in out


def test_info_json_reports_versions_device_and_bundled_paths(capsys):
    assert main(["--device", "cpu", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["mmreason"] == mmreason.__version__
    assert info["device"] == "cpu"
    assert info["versions"]["torch"] == torch.__version__.split("+")[0]
    assert info["graphs_dir"].endswith("graphs")


def test_info_prints_a_readable_summary():
    proc = run_cli("--device", "cpu", "info")
    assert proc.returncode == 0, proc.stderr
    assert "mmreason" in proc.stdout and "device: cpu" in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_request_without_cuda_is_one_line_not_a_traceback():
    proc = run_cli("--device", "cuda", "info")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "mmreason: error: device='cuda' was asked for but CUDA is not available"
    assert "Traceback" not in proc.stderr


def test_unknown_command_is_refused_by_argparse():
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
