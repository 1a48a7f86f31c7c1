import pytest

from mmreason import MissingFileError, ScenarioError
from mmreason.causal import SCM
from mmreason.paths import bundled_graphs_dir, bundled_scenarios_dir
from mmreason.scenarios import load_scenario, run_scenario


@pytest.fixture(scope="module")
def crossing() -> SCM:
    return SCM.from_file(bundled_graphs_dir() / "crossing" / "crossing.scm.toml", device="cpu")


@pytest.mark.parametrize("path", sorted(bundled_scenarios_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_names_known_variables(path, crossing):
    scenario = load_scenario(path)
    scenario.check_against(crossing)
    assert scenario.queries


def test_explaining_away_by_hand(crossing):
    # P(SC=1 | clear, wet) = .1*.9 / (.1*.9 + .9*.02) = 0.8333...
    result = run_scenario(load_scenario(bundled_scenarios_dir() / "street_cleaning.toml"), scm=crossing)
    assert result.passed
    assert result.outcomes[0].result[1] == pytest.approx(0.09 / (0.09 + 0.018), abs=1e-9)


def test_pinned_noise_gives_the_exact_continuous_counterfactual(crossing):
    result = run_scenario(load_scenario(bundled_scenarios_dir() / "dry_braking_distance.toml"), scm=crossing)
    # U_Braking = 37 - 14 - 14²/(2·0.45·9.81); dry: 14 + 14²/(2·0.75·9.81) + U_Braking.
    u_braking = 37.0 - 14.0 - 14.0**2 / (2 * 0.45 * 9.81)
    expected = 14.0 + 14.0**2 / (2 * 0.75 * 9.81) + u_braking
    assert result.outcomes[0].result.mean() == pytest.approx(expected, abs=1e-6)
    assert result.passed


def test_a_failed_expectation_is_reported_not_raised(tmp_path, crossing):
    path = tmp_path / "wrong.toml"
    path.write_text(
        '[evidence]\nWeather = "clear"\nRoad = "wet"\n'
        '[[queries]]\nname = "q"\nkind = "observe"\ntarget = "StreetCleaning"\nexpect = { value = 0 }\n'
    )
    result = run_scenario(load_scenario(path), scm=crossing)
    assert result.passed is False
    assert "most probable 1" in result.outcomes[0].check
    assert "FAILED" in result.summary()


def test_scenario_evidence_overrides_image_evidence(crossing):
    scenario = load_scenario(bundled_scenarios_dir() / "street_cleaning.toml")
    result = run_scenario(
        scenario,
        scm=crossing,
        image_evidence={"Weather": "rain"},
        image_soft_evidence={"Road": {"dry": 1, "wet": 0}},
    )
    assert result.evidence["Weather"] == "clear"
    assert "Road" not in result.soft_evidence
    assert result.passed


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[queries]]\nkind = 'observe'\n", r"queries\[0\]\.target: expected a variable name"),
        (
            "[[queries]]\nkind = 'guess'\ntarget = 'Road'\n",
            r"queries\[0\]\.kind: expected one of observe, do",
        ),
        ("[[queries]]\nkind = 'do'\ntarget = 'Road'\n", r"queries\[0\]\.do: a do query needs do"),
        ("colour = 1\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n", r"unknown key\(s\) \['colour'\]"),
        (
            "[image]\npath = 'nowhere.png'\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            "image.path: no such file",
        ),
        (
            "[image]\nrender_seed = -3\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            "non-negative integer",
        ),
        ("name = 'x'\n", r"needs at least one \[\[queries\]\]"),
        (
            "[[queries]]\nkind = 'observe'\ntarget = 'Road'\nexpect = { min_probability = 0.5 }\n",
            "give value",
        ),
        (
            "[[queries]]\nkind = 'observe'\ntarget = 'Road'\n"
            "expect = { value = 'wet', min_probability = 2 }\n",
            r"min_probability: expected a probability in \[0, 1\]",
        ),
        (
            "[soft_evidence.Road]\nwet = -1\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            "likelihood >= 0",
        ),
        (
            "[model]\nscm = 'nope.scm.toml'\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            "model.scm: 'nope",
        ),
        ("[[queries]\n", "not valid TOML"),
        (
            "world = 'atlantis'\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            "world: 'atlantis' is neither",
        ),
        (
            "[model]\nbindings = 'crossing.bindings.toml'\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            "bindings needs scm",
        ),
    ],
)
def test_bad_scenario_files_name_the_field(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=match) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[queries]]\nkind = 'observe'\ntarget = 'Rood'\n", r"target: 'Rood' is not in the SCM 'crossing'"),
        (
            "[evidence]\nRoad = 'icy'\n[[queries]]\nkind = 'observe'\ntarget = 'Road'\n",
            r"evidence.Road: 'icy' is not",
        ),
        (
            "[[queries]]\nkind = 'do'\ntarget = 'Road'\ndo = { Wether = 'rain' }\n",
            r"queries\[0\] \(query 1\)\.do: variable 'Wether'",
        ),
    ],
)
def test_names_the_scm_does_not_know_are_refused(tmp_path, crossing, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=match):
        load_scenario(path).check_against(crossing)


def test_missing_scenario_file():
    with pytest.raises(MissingFileError, match="scenario file not found"):
        load_scenario("no/such/scenario.toml")


def test_a_scenario_file_that_is_not_text_is_named(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ScenarioError, match=r"binary\.toml: not UTF-8 text"):
        load_scenario(path)


def test_a_scenario_names_its_world_and_its_model_files_are_honoured(tmp_path):
    from mmreason.reasoner import Reasoner

    path = tmp_path / "sprinkler.toml"
    path.write_text(
        'world = "crossing"\n'
        "[model]\n"
        f'scm = "{bundled_graphs_dir() / "sprinkler.scm.toml"}"\n'
        "[evidence]\nW = 1\n"
        "[[queries]]\nname = 'q'\nkind = 'observe'\ntarget = 'S'\n"
    )
    scenario = load_scenario(path)
    assert scenario.world == str(bundled_graphs_dir() / "crossing")
    result = Reasoner.default(device="cpu").what_if(scenario)
    # The sprinkler network, not the crossing: P(S=1 | W=1) = 0.2781 / 0.6471 (Pearl's numbers).
    assert result.outcomes[0].result[1] == pytest.approx(0.2781 / 0.6471, abs=1e-4)


def test_a_scenario_of_another_world_runs_with_that_world(tmp_path):
    from mmreason.reasoner import Reasoner
    from tests.worlds.test_manifest import make_world

    folder = make_world(tmp_path / "garden")
    scm = folder / "garden.scm.toml"
    scm.write_text("[variables.Frost]\ndomain = [0, 1]\ncpd = [0.75, 0.25]\n")
    (folder / "world.toml").write_text(
        (folder / "world.toml").read_text().replace("[vision]", 'scm = "garden.scm.toml"\n[vision]')
    )
    path = tmp_path / "frost.toml"
    path.write_text('world = "garden"\n[[queries]]\nname = "frost"\nkind = "observe"\ntarget = "Frost"\n')
    result = Reasoner.default(device="cpu").what_if(path)
    assert result.outcomes[0].result[1] == pytest.approx(0.25)
