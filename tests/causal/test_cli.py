"""The ``mmreason scm`` sub-command: a thin layer over SCM.query / SCM.counterfactual."""

from __future__ import annotations

import json

import pytest

from mmreason.cli import main
from mmreason.paths import bundled_graphs_dir

SPRINKLER = str(bundled_graphs_dir() / "sprinkler.scm.toml")
FIRING = str(bundled_graphs_dir() / "firing_squad.scm.toml")


def test_query_prints_the_distribution(capsys):
    assert main(["--device", "cpu", "scm", SPRINKLER, "W", "--do", "S=1"]) == 0
    assert "P(W | do(S=1)): {0: 0.055, 1: 0.945}" in capsys.readouterr().out


def test_counterfactual_as_json(capsys):
    assert (
        main(
            ["--device", "cpu", "scm", FIRING, "D", "-e", "D=1", "--do", "A=0", "--counterfactual", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == "P(D_{A=0} | D=1)"
    assert out["probabilities"]["1"] == pytest.approx(0.7 / 0.76)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["W", "-e", "S=2"], "is not in the domain of 'S': [0, 1]"),
        (["W", "-e", "S"], "expected VARIABLE=VALUE"),
        (["Q"], "variable 'Q' is not in the model"),
    ],
)
def test_bad_input_exits_2_with_a_message(capsys, argv, message):
    assert main(["--device", "cpu", "scm", SPRINKLER, *argv]) == 2
    assert message in capsys.readouterr().err
