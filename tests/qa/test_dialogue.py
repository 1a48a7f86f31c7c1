"""Multi-turn dialogue on crossing renders: references to objects, ellipsis, interventions carried
forward, "why?", ambiguity refused, and a conversation saved and resumed. The truth is the render's."""

from __future__ import annotations

import json

import pytest

from mmreason import QuestionNotUnderstoodError, Reasoner
from mmreason.dialogue import Conversation
from mmreason.worlds.crossing.render import render_values
from tests.test_reasoner import run_cli

pytestmark = pytest.mark.slow

# Two buses, a truck and a pedestrian on the crosswalk; the nearer bus is silver, its lamp dark.
ROW = dict(
    Weather="clear",
    Road="dry",
    Light="green",
    DistanceToCrosswalk=22.0,
    PedestrianOnCrosswalk=1,
    Speed=12.0,
    DriverBrakes=0,
)
SEED = 5


@pytest.fixture(scope="module")
def reasoner() -> Reasoner:
    return Reasoner.from_world("crossing", device="cpu")


@pytest.fixture(scope="module")
def scene():
    return render_values(ROW, seed=SEED)


def _nearest(truth):
    return next(o for o in truth.objects if o.nearest)


def test_the_render_is_the_one_the_dialogue_is_about(scene) -> None:
    _, truth = scene
    assert sorted(o.type for o in truth.objects) == ["bus", "bus", "pedestrian", "truck"]
    assert _nearest(truth).type == "bus"


def test_a_dialogue_keeps_what_it_is_about(reasoner, scene) -> None:
    image, truth = scene
    nearest = _nearest(truth)
    chat = reasoner.conversation(image)

    closest = chat.ask("Which vehicle is closest to the crosswalk?")
    assert closest.value == f"{nearest.color} {nearest.type}"
    (referent,) = closest.about

    # "it" is that bus, not every vehicle.
    colour = chat.ask("What colour is it?")
    assert colour.value == nearest.color and colour.about == (referent,)
    red = chat.ask("Is it red?")
    assert red.value is (nearest.color == "red") and red.about == (referent,)
    # The weather's "it" stays the weather's.
    assert chat.ask("Is it raining?").value is False
    speed = chat.ask("How fast is it going?")
    assert speed.value == pytest.approx(nearest.speed, abs=0.25)
    assert chat.ask("Are its brake lights on?").value is bool(nearest.braking)
    assert chat.ask("Is it the red one?").value is (nearest.color == "red")
    # Ellipsis: the same question of another subject, another attribute of the same one.
    truck = chat.ask("What about the truck?")
    assert truck.about and truck.about != (referent,)
    truck_object = next(o for o in truth.objects if o.type == "truck")
    assert chat.ask("What colour is the truck?").value == truck_object.color
    assert chat.ask("And its brake lights?").value in ("brake lights on", "brake lights off")


def test_what_kind_of_vehicle_it_is_is_its_class_as_read(reasoner, scene) -> None:
    image, truth = scene
    chat = reasoner.conversation(image)
    closest = chat.ask("Which vehicle is closest to the crosswalk?")
    kind = chat.ask("What kind of vehicle is it?")
    assert kind.value == _nearest(truth).type and kind.about == closest.about
    assert kind.confidence >= 0.9
    # Its lamps, named the long way, are the referent's too.
    lamps = chat.ask("Are the brake lights of that vehicle on?")
    assert lamps.value is bool(_nearest(truth).braking) and lamps.about == closest.about
    # With no object named, the ontology answers.
    assert chat.ask("What kind of thing is a bus?").value == "vehicle"


def test_it_with_two_live_candidates_is_refused_with_both_named(reasoner, scene) -> None:
    image, _ = scene
    chat = reasoner.conversation(image)
    assert chat.ask("How many buses are there?").value == 2
    with pytest.raises(QuestionNotUnderstoodError, match=r"'it' could be any of 2 objects .*bus-\d, bus-\d"):
        chat.ask("What colour is it?")


def test_interventions_carry_forward_and_why_explains_the_contrast(reasoner, scene) -> None:
    image, _ = scene
    chat = reasoner.conversation(image)
    first = chat.ask("Would the car have stopped in time if the light had been red?")
    assert "do={Light: red}" in first.steps[1].detail
    second = chat.ask("And if the road had been wet?")
    assert "do={Light: red, Road: wet}" in second.steps[1].detail
    # Red light and wet road at 12 m/s from 22 m: 12 + 144/(2·0.45·9.81) ≈ 28 m > 22 m: no stop.
    assert second.value is False and second.confidence > 0.95
    why = chat.ask("Why?")
    assert "explain(variable=StopsInTime, value=0" in why.steps[1].detail
    # Against the world of the turn before (a red light alone, P(stop) ≈ 0.53), the wet road is why.
    assert why.value == "Road=wet" and why.text.startswith("because Road=wet")
    assert "with Light=red" in why.text
    # Asked straight after one counterfactual, the contrast is with the picture's own world: green
    # and no braking does not stop either, so the wet road is not why it would not stop.
    chat.ask("Would the car have stopped in time if the road had been wet?")
    assert chat.ask("Why?").text.startswith("not because of Road=wet")
    # "it" after a causal question about "the car" is the vehicle the evidence was read from.
    assert chat.ask("Are its brake lights on?").about == first.about


def test_polarity_holds_across_phrasings(reasoner, scene) -> None:
    image, _ = scene
    chat = reasoner.conversation(image)
    stop = chat.ask("If the light had been red, would the car have stopped in time?")
    fail = chat.ask("If the light had been red, would the car have failed to stop in time?")
    assert stop.value is not fail.value
    assert stop.confidence == pytest.approx(fail.confidence, abs=1e-9)


def test_a_conversation_is_saved_and_resumed(reasoner, scene, tmp_path) -> None:
    image, truth = scene
    chat = reasoner.conversation(image)
    chat.ask("Which vehicle is closest to the crosswalk?")
    saved = chat.to_json()
    assert json.loads(saved)["state"]["referents"] == list(chat.state.referents)
    resumed = Conversation.from_json(reasoner, saved, image=image)
    assert resumed.state == chat.state and len(resumed.turns) == 1
    assert resumed.ask("What colour is it?").value == _nearest(truth).color


def test_a_malformed_saved_conversation_is_named(reasoner) -> None:
    from mmreason import InvalidInputError

    with pytest.raises(InvalidInputError, match="not JSON"):
        Conversation.from_json(reasoner, "{")
    with pytest.raises(InvalidInputError, match="malformed"):
        Conversation.from_json(reasoner, '{"turns": [{"no": 1}]}')


def test_chat_exits_1_and_counts_the_turns_it_did_not_understand(scene, tmp_path) -> None:
    image, truth = scene
    path = tmp_path / "street.png"
    image.save(path)
    saved = tmp_path / "chat.json"
    questions = "Which vehicle is closest to the crosswalk?\nPaint the car blue\nWhat colour is it?\n"
    proc = run_cli("chat", str(path), "--save", str(saved), stdin=questions)
    assert proc.returncode == 1
    assert "1 of 3 turns were not understood" in proc.stderr
    state = json.loads(saved.read_text())
    assert len(state["turns"]) == 2
    proc = run_cli("chat", str(path), "--resume", str(saved), stdin="Is it red?\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[3] == ("yes" if _nearest(truth).color == "red" else "no")


def test_a_speed_what_if_shifts_the_measured_speed_and_carries_forward(reasoner) -> None:
    # Wet road, red light, braking, 14 m/s from 25 m: 14 + 196/(2·0.45·9.81) ≈ 36 m > 25 m.
    row = dict(ROW, Road="wet", Light="red", DriverBrakes=1, Speed=14.0, DistanceToCrosswalk=25.0)
    image, _ = render_values(row, seed=7)
    chat = reasoner.conversation(image)
    # 9 m/s: 9 + 81/8.83 ≈ 18 m < 25 m.
    slower = chat.ask("Had it been going 5 m/s slower, would it have stopped in time?")
    assert slower.value is True and slower.confidence > 0.95
    assert any(step.detail == "Speed: 14.00 -5 = 9.00" for step in slower.steps)
    assert chat.ask("Why?").text.startswith("because Speed=9.0")
    chat.ask("Would the car have stopped in time if the road had been dry?")
    faster = chat.ask("And if it had been going 5 m/s faster?")
    assert "do={Road: dry}, shift={Speed: 5.0}" in faster.steps[1].detail
    assert faster.value is False
    assert Conversation.from_json(reasoner, chat.to_json(), image=image).state.shifts == {"Speed": 5.0}


def test_a_reading_the_parser_is_unsure_of_is_asked_back_not_answered(reasoner, scene) -> None:
    from mmreason.dialogue import ASK_BACK

    image, _ = scene
    chat = reasoner.conversation(image)
    program = reasoner.parser.parse("What colour is the object?")
    assert program.confidence < ASK_BACK  # "object" is as close to several classes
    answer = chat.ask("What colour is the object?")
    assert answer.value is None and answer.confidence == pytest.approx(program.confidence)
    assert answer.text.startswith("not sure what is asked") and "did you mean" in answer.text
    assert chat.ask("What colour is the traffic light?").value == "green"


def test_that_vehicle_and_the_light_as_follow_ups():
    from mmreason.reasoner import Reasoner
    from mmreason.worlds.crossing import render_scene

    image, truth = render_scene(9000002)
    chat = Reasoner.from_world("crossing", device="cpu").conversation(image)
    closest = chat.ask("Which vehicle is closest to the crosswalk?")
    colour = chat.ask("What colour is that vehicle?")  # "that vehicle" is the one just named
    assert colour.text in closest.text
    chat.ask("What is the weather like?")
    light = chat.ask("And the light?")  # the same question of the traffic light
    assert light.value == truth.light
