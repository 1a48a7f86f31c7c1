"""The Reasoner end to end, with the real bundled CLIP model, KG and SCM."""

import json
import subprocess
import sys

import pytest

from mmreason import QuestionNotUnderstoodError
from mmreason.paths import bundled_scenarios_dir
from mmreason.reasoner import Reasoner
from mmreason.worlds.crossing import render_scene


@pytest.fixture(scope="module")
def reasoner() -> Reasoner:
    return Reasoner.default(device="cpu")


def run_cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "mmreason", "--device", "cpu", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=600,
    )


@pytest.mark.parametrize("seed", [2, 8])
def test_scene_level_answers_match_the_world_truth(reasoner, seed):
    image, truth = render_scene(seed)
    chat = reasoner.conversation(image)
    assert chat.ask("What colour is the traffic light?").value == truth.light
    assert chat.ask("Is the road wet?").value == (truth.road == "wet")
    assert chat.ask("What is the weather?").value == truth.weather
    assert chat.ask("Must the vehicles stop?").value == (truth.light == "red")


def test_every_answer_says_how_it_was_reached(reasoner):
    image, _ = render_scene(2)
    answer = reasoner.ask(image, "Had the road been dry, would the car have stopped in time?")
    kinds = [step.kind for step in answer.steps]
    assert kinds[:2] == ["ground", "parse"]
    assert "causal" in kinds
    text = answer.explain()
    assert "abduction, action, prediction" in text
    assert isinstance(answer.value, bool)


def test_follow_ups_resolve_against_the_last_turn(reasoner):
    image, _ = render_scene(2)
    chat = reasoner.conversation(image)
    first = chat.ask("Which vehicle is closest to the crosswalk?")
    follow = chat.ask("What colour is the one nearest the crosswalk?")
    assert first.value.split()[0] == follow.value
    assert "read as" in follow.steps[1].detail


def test_a_question_outside_the_grammar_lists_supported_forms(reasoner):
    image, _ = render_scene(2)
    with pytest.raises(QuestionNotUnderstoodError, match="closest supported forms"):
        reasoner.ask(image, "Paint the car blue")


def test_scenarios_run_with_image_evidence(reasoner):
    result = reasoner.what_if(bundled_scenarios_dir() / "wet_crossing.toml")
    assert result.scene is not None
    assert set(result.soft_evidence) >= {"Weather", "Road", "Light"}
    assert "DistanceToCrosswalk" in result.evidence
    assert result.passed


def test_cli_ask_json_has_typed_values(tmp_path):
    image, truth = render_scene(8)
    path = tmp_path / "street.png"
    image.save(path)
    proc = run_cli("ask", str(path), "How many cars are there?", "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert set(answer) >= {"value", "confidence", "steps"}
    assert isinstance(answer["value"], int) and not isinstance(answer["value"], bool)
    proc = run_cli("ask", str(path), "Is the road wet?", "--json")
    assert json.loads(proc.stdout)["value"] is (truth.road == "wet")


def test_cli_chat_reads_questions_from_stdin(tmp_path):
    image, truth = render_scene(8)
    path = tmp_path / "street.png"
    image.save(path)
    proc = run_cli("chat", str(path), "--json", stdin="What colour is the traffic light?\nIs it raining?\n")
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(chunk) for chunk in proc.stdout.replace("}\n{", "}\x00{").split("\x00")]
    assert answers[0]["value"] == truth.light
    assert answers[1]["value"] is (truth.weather == "rain")


def test_cli_bad_question_is_one_line(tmp_path):
    image, _ = render_scene(8)
    path = tmp_path / "street.png"
    image.save(path)
    proc = run_cli("ask", str(path), "Paint the car blue")
    assert proc.returncode == 2
    assert proc.stderr.startswith("mmreason: error: question not understood")
    assert "Traceback" not in proc.stderr


def test_cli_missing_gnn_checkpoint_is_named(tmp_path):
    image, _ = render_scene(8)
    path = tmp_path / "street.png"
    image.save(path)
    proc = run_cli("ask", str(path), "Must the car stop?", "--gnn", str(tmp_path / "no-such-model"))
    assert proc.returncode == 2
    assert "no-such-model" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_whatif_writes_a_report_and_fails_on_a_wrong_expectation(tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        '[evidence]\nWeather = "clear"\nRoad = "wet"\n'
        '[[queries]]\nname = "q"\nkind = "observe"\ntarget = "StreetCleaning"\nexpect = { value = 0 }\n'
    )
    good = bundled_scenarios_dir() / "street_cleaning.toml"
    proc = run_cli("whatif", str(good), str(wrong), "--report", str(tmp_path / "report"))
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout
    report = (tmp_path / "report" / "whatif.md").read_text()
    assert "street cleaning" in report and "FAILED" in report
    assert list((tmp_path / "report").glob("*.png"))


def test_a_link_predictor_completes_the_kg_and_answers_where_asserted_rules_are_silent(tmp_path):
    import torch

    from mmreason.causal import SCM
    from mmreason.causal.bindings import Bindings
    from mmreason.gnn import TrainingConfig, train_link_predictor
    from mmreason.gnn.complete import predicted_facts
    from mmreason.kg import KnowledgeGraph
    from mmreason.worlds import resolve_world
    from mmreason.worlds.crossing import MR

    torch.set_num_threads(1)
    world = resolve_world("crossing")
    kg = KnowledgeGraph.open()
    kg.load(world.ontology[0])
    # The KG forgets what a red light requires, in both the short and the rule form.
    kg.update("DELETE WHERE { GRAPH ?g { ?rule mm:when ?state ; ?p ?o } }", state=MR.redLight)
    kg.update("DELETE WHERE { GRAPH ?g { ?state mr:requires ?action } }", state=MR.redLight)
    config = TrainingConfig(dim=16, epochs=60, lr=0.05, eval_every=10)
    trained = train_link_predictor(
        kg, model="distmult", config=config, valid=[], device="cpu", progress=False
    )
    trained.save(tmp_path / "gnn")
    scm = SCM.from_file(world.scm, device="cpu")
    bindings = Bindings.from_file(world.bindings, scm=scm)
    # Every tail of every (head, relation) is kept, so a fact for the red light is among them.
    entities = trained.id_maps.num_entities
    reasoner = Reasoner(
        kg=kg,
        scm=scm,
        bindings=bindings,
        world=world,
        device="cpu",
        predictor=tmp_path / "gnn",
        min_score=0.0,
        top_k=entities,
    )
    # Every predicted fact, and only those, is in the predicted graph, with its score.
    completion = reasoner.completion
    assert completion is not None and completion.facts
    assert {(f.head, f.relation, f.tail) for f in predicted_facts(kg)} == completion.triples()
    image, truth = render_scene(2)
    assert truth.light == "red"
    answer = reasoner.ask(image, "Must the car stop?")
    # The asserted rules are silent, so the answer rests on the GNN's fact and its score.
    (stop,) = [
        f
        for f in completion.facts
        if (f.head, f.relation, f.tail) == (str(MR.redLight), str(MR.requires), str(MR.stop))
    ]
    (gnn,) = [s for s in answer.steps if s.kind == "gnn" and s.detail.startswith("predicted redLight")]
    assert gnn.confidence == pytest.approx(stop.score, abs=1e-6)  # stored to six decimals
    assert answer.value is (stop.score >= 0.5)
