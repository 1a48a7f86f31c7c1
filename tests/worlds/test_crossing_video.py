"""Clips of the crossing: rendered from the simulator, written as MP4, measured off the frames."""

from __future__ import annotations

import pytest

from mmreason.errors import InvalidInputError, VideoError
from mmreason.vision.video import probe
from mmreason.worlds.crossing.clip import render_clip
from mmreason.worlds.crossing.video import calibrate, ground_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    # Clip 9000004: red light, the driver brakes at 0.60 s and comes to rest at 5.91 s.
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    return render_clip(9_000_004, out=path), ground_clip(path)


def test_the_clip_is_an_mp4_of_the_simulated_run(clip) -> None:
    truth, _ = clip
    info = probe(truth.path)
    assert (info.frames, info.fps, info.width, info.height) == (75, 12.5, 640, 320)
    assert truth.run.first("braking-onset").time == pytest.approx(0.60, abs=0.011)


def test_calibration_comes_from_the_dashes_and_the_crosswalk(clip) -> None:
    _, grounding = clip
    # 12 m of dash and gap are 96 px in the drawing; the crosswalk starts at 560 px.
    assert grounding.calibration.px_per_m == pytest.approx(8.0, abs=0.05)
    assert grounding.calibration.stop_line_px == pytest.approx(560, abs=1)


def test_speed_and_braking_onset_come_from_the_frames(clip) -> None:
    truth, grounding = clip
    errors = [
        abs(s - truth.run.state_at(t).car_speed)
        for t, s in zip(grounding.times, grounding.car_speed, strict=True)
        if s is not None
    ]
    assert len(errors) >= 60 and sum(errors) / len(errors) <= 0.5
    onset = grounding.event("braking-onset")
    assert onset is not None and onset[1] == pytest.approx(0.60, abs=1 / 12.5 + 1e-9)


def test_a_lamp_the_codec_blurs_in_its_first_lit_frame_still_starts_the_braking(tmp_path) -> None:
    # Clip 11000063: the driver brakes at 1.22 s, so the lamp is first drawn lit in the frame of
    # 1.28 s, where the codec leaves its hot centre pinker than the strict test takes.
    truth = render_clip(11_000_063, out=tmp_path / "clip.mp4")
    assert truth.run.first("braking-onset").time == pytest.approx(1.22, abs=0.011)
    first_lit = next(f.time for f in truth.frames if f.braking)
    assert first_lit == pytest.approx(1.28)
    onset = ground_clip(truth.path).event("braking-onset")
    assert onset is not None and onset[1] == pytest.approx(first_lit)


def test_events_are_rdf_with_owl_time_instants(clip) -> None:
    from rdflib import Namespace

    _, grounding = clip
    time = Namespace("http://www.w3.org/2006/time#")
    g = grounding.to_rdf("urn:example:clip")
    positions = sorted(float(v) for v in g.objects(None, time.numericPosition))
    assert len(positions) == len(grounding.events) and positions[0] == pytest.approx(grounding.events[0][1])


def test_a_picture_without_a_crosswalk_is_refused_by_calibration() -> None:
    from PIL import Image

    with pytest.raises(VideoError, match="crosswalk"):
        calibrate(Image.new("RGB", (640, 320), (90, 90, 90)))


def test_clip_settings_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="fps"):
        render_clip(1, fps=60)
    with pytest.raises(InvalidInputError, match="duration"):
        render_clip(1, duration=0)


@pytest.fixture(scope="module")
def reasoner():
    from mmreason import Reasoner

    return Reasoner.from_world("crossing", device="cpu")


def test_a_clip_is_asked_in_english_and_answered_from_what_it_shows(clip, reasoner) -> None:
    from mmreason.worlds.crossing.sim import simulate

    truth, _ = clip
    speed = reasoner.ask(truth.path, "How fast is the car going?")
    assert speed.value == pytest.approx(truth.run.draws.speed, abs=0.5)
    answer = reasoner.ask(
        truth.path, "Had the driver braked half a second earlier, would it have stopped in time?"
    )
    # The simulator re-run on the clip's own draws is the truth.
    assert answer.value is simulate(truth.run.draws, react_earlier=0.5).stopped
    details = [step.detail for step in answer.steps]
    assert any("braking seen in the clip" in d for d in details)
    assert any(d.startswith("ReactionTime: 1.00 (a constant of the model) -0.5 = 0.50") for d in details)
    assert "abduction, action, prediction" in answer.explain()


def test_a_still_gives_no_driver_response(reasoner) -> None:
    from mmreason.worlds.crossing.clip import render_still

    image, _, _ = render_still(9_000_004)
    found = reasoner.executor.evidence(reasoner.ground(image))
    assert "DriverBrakes" not in found.soft_evidence and "StopsInTime" not in found.soft_evidence


def test_bad_clips_get_a_clear_error_and_nothing_is_written_beside_them(tmp_path, reasoner) -> None:
    import numpy as np

    from mmreason.vision.video import write_video

    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(VideoError, match=r"corrupt\.mp4"):
        reasoner.ask(corrupt, "How fast is the car going?")
    # A street with nothing moving on it: there is no car to follow.
    still = render_clip(9_000_004, duration=1.0)
    from mmreason.worlds.crossing.clip import iter_clip

    first = next(iter_clip(still.run, seed=9_000_004, duration=0.1))[0]
    frozen = tmp_path / "frozen.mp4"
    write_video(frozen, [np.asarray(first)] * 12, fps=12)
    with pytest.raises(VideoError, match="no vehicle driving"):
        ground_clip(frozen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.mp4", "frozen.mp4"]


def test_the_fitted_scm_is_what_its_clips_say() -> None:
    import numpy as np
    import pandas as pd

    from mmreason.causal import SCM
    from mmreason.worlds import bundled_world_dir

    folder = bundled_world_dir("crossing") / "fitted"
    model = SCM.from_file(folder / "crossing.fitted.scm.toml")
    clips = pd.read_csv(folder / "clips.csv")
    assert len(clips) >= 900
    # The CPD of the driver's response is the frequency in the clips, light by light.
    for light in ("red", "yellow", "green"):
        seen = clips[clips["Light"] == light]["DriverBrakes"].mean()
        assert model.query("DriverBrakes", evidence={"Light": light})[1] == pytest.approx(seen, abs=1e-6)
    # The braking distance is least squares on the clips that show a stop (numpy's, computed here).
    rows = clips.dropna(subset=["BrakingDistance", "SpeedReaction", "SpeedSq", "WetSpeedSq"])
    design = np.column_stack([np.ones(len(rows)), rows[["SpeedReaction", "SpeedSq", "WetSpeedSq"]]])
    coefficients, *_ = np.linalg.lstsq(design, rows["BrakingDistance"].to_numpy(), rcond=None)
    terms = model.spec.variables["BrakingDistance"].equation
    assert terms.startswith(repr(float(coefficients[0])))


def test_questions_over_time_are_answered_from_the_clips_events(clip, reasoner) -> None:
    # Clip 9000004: red from the first frame, the driver brakes at 0.60 s; the simulator is the truth.
    truth, _ = clip
    run = truth.run
    when = reasoner.ask(truth.path, "When did the driver brake?")
    assert when.unit == "s" and when.value == pytest.approx(run.first("braking-onset").time, abs=1 / 12.5)
    assert "when(event=BrakingOnset)" in when.explain()
    speed = reasoner.ask(truth.path, "How fast was the vehicle going when the driver braked?")
    assert speed.value == pytest.approx(run.state_at(when.value).car_speed, abs=1.0)
    assert reasoner.ask(truth.path, "At what time did the driver brake?").value == when.value
    assert reasoner.ask(truth.path, "What colour was the light at the start?").value == "red"
    # Did it happen? Of a clip, what the clip shows; negation is read from the words.
    assert reasoner.ask(truth.path, "Did the driver brake?").value is True
    assert reasoner.ask(truth.path, "Did the driver not brake?").value is False
    # It comes to rest at 5.91 s, its front short of the stop line: inside the 6 s clip.
    assert run.stopped and reasoner.ask(truth.path, "Did the car come to rest before the crosswalk?").value
    # Something the clip does not show is said to be absent, with no time.
    green = reasoner.ask(truth.path, "When did the light turn green?")
    assert green.value is None and green.text.startswith("not in the clip")


def test_a_still_has_no_time_to_ask_about(reasoner) -> None:
    from mmreason.worlds.crossing.clip import render_still

    image, _, _ = render_still(9_000_004)
    when = reasoner.ask(image, "When did the driver brake?")
    assert when.value is None and when.confidence == 0.0 and "still picture" in when.text
    # "Did ...?" of a still is the causal model's answer, from what the picture shows.
    did = reasoner.ask(image, "Did the driver brake?")
    assert any(step.kind == "causal" for step in did.steps)


@pytest.mark.parametrize(
    ("seed", "hit"),
    [
        # Clip 11000010: a car at 16.4 m/s on a green light stops dead at 0.90 s, against a
        # pedestrian on the crosswalk; at rest, it sinks into the background the frames are
        # compared with, and stays tracked where it stopped.
        (11_000_010, True),
        # Clip 11000005: the pedestrian is on the crosswalk, the car drives past and its front
        # leaves the picture; its rear (4.5 m behind) is then past the crosswalk's far edge.
        (11_000_005, False),
    ],
)
def test_whether_the_car_hit_someone_is_read_once_the_clip_shows_it(tmp_path, reasoner, seed, hit) -> None:
    truth = render_clip(seed, out=tmp_path / "clip.mp4")
    assert truth.run.collision is hit  # the simulator's own run
    grounding = ground_clip(truth.path)
    collision = grounding.event("collision")
    if hit:
        assert collision is not None and collision[1] == pytest.approx(
            truth.run.first("collision").time, abs=0.09
        )
    else:
        assert collision is None and grounding.car_left_at is not None
    scene = reasoner.ground(truth.path)
    seen = reasoner.executor.evidence(scene)
    assert seen.soft_evidence["Collision"][int(hit)] == pytest.approx(0.99)
    assert seen.soft_evidence["PedestrianOnCrosswalk"][1] > 0.9


def test_what_caused_a_collision_in_a_clip_is_asked_in_english(tmp_path, reasoner) -> None:
    from mmreason.qa.executor import _words

    # Clip 11000104: the light turned red, the driver braked at 1.01 s, too late: the car hit the
    # pedestrian at 2.31 s. Each cause the answer names is one but for which, in the expert's
    # model, the collision would not have happened; no collision, no causes to name.
    truth = render_clip(11_000_104, out=tmp_path / "hit.mp4")
    answer = reasoner.ask(truth.path, "What caused the collision?")
    assert answer.family == "explanation" and answer.value
    named = {
        d.split(" (")[0].removeprefix("but for "): d
        for d in (s.detail for s in answer.steps)
        if d.startswith("but for ")
    }
    assert set(named) == {"light", "reaction time", "road", "speed"}
    for cause in answer.value:
        assert float(named[_words(cause)].rsplit(" ", 1)[1]) < 0.5
    passed = render_clip(11_000_005, out=tmp_path / "passed.mp4")
    none = reasoner.ask(passed.path, "What caused the collision?")
    assert none.value is None and "is not 1" in none.text
