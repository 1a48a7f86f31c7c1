"""SCM files: what is accepted, and bad input refused with the file, variable, line and reason."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmreason import SCM, MissingFileError, ScmSpecError
from mmreason.causal.spec import parse_spec
from mmreason.paths import bundled_graphs_dir


@pytest.mark.parametrize("name", ["sprinkler", "firing_squad", "crossing/crossing"])
def test_bundled_files_load(name):
    scm = SCM.from_file(bundled_graphs_dir() / f"{name}.scm.toml", device="cpu")
    name = name.rsplit("/", 1)[-1]
    assert scm.name == name
    assert list(scm.graph.nodes) == list(scm.variables)


def test_crossing_uses_the_shared_vocabulary(crossing):
    assert set(crossing.variables) == {
        "Weather", "StreetCleaning", "Road", "Friction", "Light", "DriverBrakes", "Speed",
        "DistanceToCrosswalk", "ReactionTime", "BrakingDistance", "StopsInTime", "PedestrianOnCrosswalk",
        "Collision",
    }  # fmt: skip
    assert crossing.domain("Weather") == ("clear", "cloudy", "rain")
    assert crossing.domain("Road") == ("dry", "wet")
    assert crossing.domain("Light") == ("red", "yellow", "green")
    for name in ("StreetCleaning", "DriverBrakes", "StopsInTime", "PedestrianOnCrosswalk", "Collision"):
        assert crossing.domain(name) == (0, 1)
    for name in ("Friction", "Speed", "DistanceToCrosswalk", "ReactionTime", "BrakingDistance"):
        assert crossing.domain(name) is None
    edges = set(crossing.graph.edges)
    assert {("Weather", "Road"), ("StreetCleaning", "Road"), ("Road", "Friction"), ("Light", "DriverBrakes"),
            ("Speed", "BrakingDistance"), ("ReactionTime", "BrakingDistance"),
            ("Friction", "BrakingDistance"), ("BrakingDistance", "StopsInTime"),
            ("DistanceToCrosswalk", "StopsInTime"), ("StopsInTime", "Collision"),
            ("PedestrianOnCrosswalk", "Collision")} <= edges  # fmt: skip


def test_crossing_numbers_are_physical(crossing):
    units = crossing.sample(20_000, seed=3)
    assert units["Speed"].between(8, 17).all()
    assert units["DistanceToCrosswalk"].between(10, 60).all()
    dry = units[units["Road"] == "dry"]["Friction"].mean()
    wet = units[units["Road"] == "wet"]["Friction"].mean()
    assert 0.7 <= dry <= 0.8 and 0.4 <= wet <= 0.5
    # Reaction distance v·1 s plus v²/(2μg): the physics by hand, up to the noise term.
    by_hand = units["Speed"] * 1.0 + units["Speed"] ** 2 / (2 * units["Friction"] * 9.81) + units["U_Braking"]
    assert np.allclose(units["BrakingDistance"], by_hand)
    red = units[units["Light"] == "red"]["DriverBrakes"].mean()
    assert red > 0.95


BASE = """
[variables.A]
domain = [0, 1]
cpd = [0.5, 0.5]
"""


def spec_error(text: str) -> ScmSpecError:
    with pytest.raises(ScmSpecError) as info:
        parse_spec(text, path="model.scm.toml")
    return info.value


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            BASE
            + '[variables.B]\ndomain = [0, 1]\nequation = "C"\n'
            + '[variables.C]\ndomain = [0, 1]\nequation = "B"\n',
            r"model\.scm\.toml:\d+: variable '[BC]': the graph has a cycle: [BC] -> [BC] -> [BC]",
        ),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nparents = ["Aa"]\ncpd = [0.5, 0.5]\n',
            r"variable 'B': unknown parent 'Aa'; did you mean 'A'\?",
        ),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nparents = ["A"]\n[variables.B.cpd]\n"A=0" = [0.5, 0.5]\n'
            '"A=1" = [0.6, 0.3]\n',
            r"model\.scm\.toml:10: variable 'B': cpd sums to 0\.9 in column A=1, expected 1",
        ),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nparents = ["A"]\n[variables.B.cpd]\n"A=0" = [0.5, 0.5]\n',
            r"variable 'B': cpd has no column for \['A=1'\]",
        ),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nparents = ["A"]\n[variables.B.cpd]\n"A=0" = [0.5, 0.5]\n'
            '"A=2" = [0.5, 0.5]\n',
            r"'2' is not in the domain of 'A': \[0, 1\]",
        ),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nequation = "A +* 1"\n',
            r"model\.scm\.toml:7:16: variable 'B'",
        ),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nequation = "Aa or 1"\n',
            r"unknown name 'Aa'; did you mean 'A'\?",
        ),
        (BASE + '[variables.B]\ndomain = [0, 1]\nequation = "B"\n', r"refers to the variable itself"),
        (BASE + "[variables.B]\ndomain = [0, 1]\n", r"needs exactly one mechanism"),
        (BASE + '[variables.B]\nequation = "A"\n', r"needs either domain"),
        (
            BASE + "[variables.B]\ndomain = [0, 1]\ncpd = [0.5, 0.5]\ncolour = 1\n",
            r"unknown key\(s\) \['colour'\]",
        ),
        (BASE + '[exogenous.U]\ndistribution = "gamma"\n', r"distribution must be one of"),
        (BASE + '[exogenous.U]\ndistribution = "bernoulli"\np = 1.5\n', r"bernoulli p must lie in \[0, 1\]"),
        (BASE + '[exogenous.U]\ndistribution = "normal"\nmean = 0\nstd = -1\n', r"std must be positive"),
        (
            BASE + '[exogenous.A]\ndistribution = "bernoulli"\np = 0.5\n',
            r"both as exogenous and as endogenous",
        ),
        (BASE + '[variables.B]\ntype = "real"\ncpd = [0.5, 0.5]\n', r"a cpd needs a finite domain"),
        (
            BASE + '[variables.B]\ndomain = [0, 1]\nequation = "A + 1"\n',
            r"gives 2, which is not in the domain",
        ),
        ("name = 'x'\n", r"declares no \[variables\.NAME\] tables"),
        ("[variables.A\n", r"not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_a_reason(text, pattern):
    if "gives 2" in pattern:
        with pytest.raises(ScmSpecError, match=pattern):
            SCM.from_toml(text, device="cpu")
        return
    assert re.search(pattern, str(spec_error(text))), str(spec_error(text))


def test_equation_error_names_line_and_column():
    text = BASE + '[variables.B]\ndomain = [0, 1]\nequation = "A or (W"\n'
    error = spec_error(text)
    assert (error.line, error.variable) == (7, "B")
    # The column points into the file, at the end of the equation where ')' is missing.
    line = text.splitlines()[6]
    assert line[error.column - 1] == '"'


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="SCM file not found"):
        SCM.from_file(tmp_path / "nope.scm.toml")


def test_cpd_becomes_response_noise_with_exact_cells(sprinkler):
    cells = sprinkler.spec.exogenous["U_W"]
    # Cumulative P(W=0 | S, R) = 1, .1, .1, .01 split Uniform(0, 1) at .01 and .1.
    assert cells.kind == "response"
    assert np.allclose(cells.probs, [0.01, 0.09, 0.9])


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_fit_from_data_gives_maximum_likelihood_cpds(tmp_path, sprinkler):
    from pgmpy.estimators import MaximumLikelihoodEstimator

    data = sprinkler.sample(5000, seed=11)[["C", "S", "R", "W"]]
    data.to_csv(tmp_path / "sprinkler.csv", index=False)
    text = (bundled_graphs_dir() / "sprinkler.scm.toml").read_text()
    # Same structure, every mechanism learned from the CSV.
    fitted = """
[variables.C]
domain = [0, 1]
fit = "sprinkler.csv"
[variables.S]
domain = [0, 1]
parents = ["C"]
fit = "sprinkler.csv"
[variables.R]
domain = [0, 1]
parents = ["C"]
fit = "sprinkler.csv"
[variables.W]
domain = [0, 1]
parents = ["S", "R"]
fit = "sprinkler.csv"
"""
    assert "cpd" in text
    (tmp_path / "fitted.scm.toml").write_text(fitted)
    scm = SCM.from_file(tmp_path / "fitted.scm.toml", device="cpu")
    network = sprinkler.to_pgmpy()
    estimator = MaximumLikelihoodEstimator(network, data)
    for name in ("C", "S", "R", "W"):
        cpd = estimator.estimate_cpd(name)
        parents = list(scm.spec.variables[name].parents)
        if len(parents) > 1:
            cpd.reorder_parents(parents)
        theirs = cpd.get_values()
        assert np.allclose(scm.spec.variables[name].cpd.T, theirs, atol=1e-12)
    assert scm.query("W", do={"S": 1})[1] == pytest.approx(0.945, abs=0.03)


def test_fit_from_data_gives_a_linear_additive_noise_equation(tmp_path, linear):
    linear.sample(4000, seed=12).to_csv(tmp_path / "linear.csv", index=False)
    text = """
[exogenous.N_X]
distribution = "normal"
mean = 1.0
std = 1.0
[variables.X]
type = "real"
equation = "N_X"
[variables.Z]
type = "real"
parents = ["X"]
fit = "linear.csv"
[variables.Y]
type = "real"
parents = ["X", "Z"]
fit = "linear.csv"
"""
    (tmp_path / "m.scm.toml").write_text(text)
    scm = SCM.from_file(tmp_path / "m.scm.toml", device="cpu")
    assert scm.spec.exogenous["U_Y"].params["std"] == pytest.approx(2.0, abs=0.1)
    # Counterfactuals then work as for a written equation: Y = 3Z - X + noise.
    answer = scm.counterfactual("Y", evidence={"X": 2.0, "Z": 3.0, "Y": 5.0}, do={"X": 0.0})
    assert answer.exact and answer.mean() == pytest.approx(-5.0, abs=0.3)


@pytest.mark.parametrize(
    ("csv", "pattern"),
    [
        (None, r"fit file not found"),
        ("A,B\n0,1\n1,0\n", r"lacks the column\(s\) \['X'\]"),
        ("A,X\n0,1\n0,0\n", r"has no rows with A=1"),
        ("A,X\n0,1\n1,7\n", r"column 'X' holds 7, not in \[0, 1\]"),
    ],
)
def test_fit_from_data_refuses_bad_files(tmp_path, csv, pattern):
    if csv is not None:
        (tmp_path / "d.csv").write_text(csv)
    text = (
        '[variables.A]\ndomain = [0, 1]\ncpd = [0.5, 0.5]\n[variables.X]\ndomain = [0, 1]\nparents = ["A"]\n'
    )
    (tmp_path / "m.scm.toml").write_text(text + 'fit = "d.csv"\n')
    with pytest.raises(ScmSpecError, match=pattern):
        SCM.from_file(tmp_path / "m.scm.toml", device="cpu")


def test_lines_are_found_in_a_large_file_in_one_pass():
    # 3,000 variables: the section index is built once, not searched per variable.
    text = "".join(f'[variables.V{i}]\ntype = "real"\nequation = "{i}"\n' for i in range(3000))
    text += '[variables.Bad]\ntype = "real"\nequation = "V1 +* 2"\n'
    error = spec_error(text)
    assert (error.variable, error.line, error.column) == ("Bad", 9003, 17)
    table = (
        BASE
        + '[variables.B]\ndomain = [0, 1]\nparents = ["A"]\n[ variables . B . cpd ]\n'
        + "'A=0' = [0.5, 0.5]\n\"A=1\" = [0.5, 0.6]\n"
    )
    assert spec_error(table).line == 10
