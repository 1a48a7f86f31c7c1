"""The tabletop world end to end: its manifest, grounding of renders, questions from pictures, "it".

Known answers come from the renderer's own scene records (truth written by code apart from
perception); the perception models are the bundled ones, trained on other seeds.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mmreason.qa.clevr import TableScene, execute
from mmreason.qa.compose import CompositionalParser
from mmreason.reasoner import Reasoner
from mmreason.vision.proposals import box_iou
from mmreason.worlds import resolve_world
from mmreason.worlds.tabletop import TT_IRI, render_scene

SEEDS = range(30_000_000, 30_000_012)  # used by no training run


@pytest.fixture(scope="module")
def reasoner():
    return Reasoner.from_world("tabletop", device="cpu")


@pytest.fixture(scope="module")
def renders():
    return [render_scene(seed) for seed in SEEDS]


def test_the_tabletop_is_a_world_with_questions_and_its_own_code():
    world = resolve_world("tabletop")
    assert set(world.questions.attributes) == {"shape", "color", "material", "size"}
    assert world.questions.relations["front"].sign == -1
    assert [r.__name__ for r in world.load_readers()] == ["read_geometry"]
    assert world.load_proposer().__name__ == "propose_regions"
    assert (world.encoder / "model.safetensors").is_file()


def _read(obj, attribute):
    if attribute == "shape":
        return obj.type.value
    return obj.attribute(TT_IRI + {"color": "colour"}.get(attribute, attribute)).value


def test_grounding_reads_every_half_visible_objects_four_attributes(reasoner, renders):
    right, total = Counter(), 0
    for image, truth in renders:
        scene = reasoner.ground(image)
        for obj in truth.objects:
            if 2 * obj.visible_pixels < obj.full_pixels:
                continue
            total += 1
            best = max(scene.objects, key=lambda o: box_iou(o.bbox, obj.bbox))
            if box_iou(best.bbox, obj.bbox) < 0.5:
                continue
            for attribute in ("shape", "color", "material", "size"):
                right[attribute] += _read(best, attribute) == getattr(obj, attribute)
    assert total > 40
    for attribute in ("shape", "color", "material", "size"):
        assert right[attribute] / total >= 0.97, (attribute, right[attribute], total)


def test_relations_read_from_pictures_agree_with_the_scene_records(reasoner, renders):
    from mmreason.qa.scene_programs import table_scene

    agree = pairs = 0
    for image, truth in renders:
        scene = reasoner.ground(image)
        seen = table_scene(scene, reasoner.world)
        # Match grounded objects to true ones by box; compare every relation between matched pairs.
        match = {}
        for i, obj in enumerate(truth.objects):
            best = max(range(len(scene.objects)), key=lambda k: box_iou(scene.objects[k].bbox, obj.bbox))
            if box_iou(scene.objects[best].bbox, obj.bbox) >= 0.5:
                match[i] = best
        for name, rows in truth.relationships.items():
            for i, related in enumerate(rows):
                for j in match:
                    if i in match and i != j:
                        pairs += 1
                        agree += (j in related) == (match[j] in seen.relationships[name][match[i]])
    assert pairs > 500
    assert agree / pairs >= 0.97


def test_questions_about_a_picture_are_answered_with_their_program(reasoner, renders):
    image, truth = renders[0]
    answer = reasoner.ask(image, "How many things are there?")
    assert answer.value == len(truth.objects)
    assert "CLEVR program: scene → count" in answer.explain()
    assert 0 < answer.confidence <= 1


def test_a_description_that_fits_no_single_object_is_not_answered(reasoner, renders):
    for image, truth in renders:
        shapes = Counter(o.shape for o in truth.objects)
        shape = next((s for s, n in shapes.items() if n >= 2), None)
        if shape is None:
            continue
        answer = reasoner.ask(image, f"What colour is the {shape}?")
        assert answer.value is None and "cannot tell" in answer.text
        return
    pytest.fail("no render with two things of one shape")


def test_it_refers_to_the_object_the_last_answer_picked(reasoner, renders):
    asked = 0
    for image, truth in renders:
        shapes = Counter(o.shape for o in truth.objects)
        for obj in truth.objects:
            if shapes[obj.shape] != 1 or 2 * obj.visible_pixels < obj.full_pixels:
                continue
            chat = reasoner.conversation(image)
            first = chat.ask(f"What colour is the {obj.shape}?")
            if first.value is None:  # perception saw a second one: said so rather than guessed
                assert "cannot tell" in first.text
                continue
            assert first.about and first.value == obj.color
            assert chat.ask("What is it made of?").value == obj.material
            assert chat.ask("How big is it?").value == obj.size
            asked += 1
            break
    assert asked >= 5


def test_eval_from_pictures_reports_accuracy_and_ceiling(tmp_path, reasoner):
    from bench.tabletop_questions import write_questions
    from mmreason.qa.clevr_eval import evaluate_questions
    from mmreason.vision.labels import write_renders

    write_renders("tabletop", tmp_path, seed=SEEDS.start, count=4)
    write_questions(tmp_path / "scenes.json", tmp_path / "questions.json", per_scene=11)
    report = evaluate_questions(
        "tabletop",
        tmp_path / "scenes.json",
        tmp_path / "questions.json",
        images=tmp_path / "images",
        reasoner=reasoner,
    )
    assert report.questions == 44 and report.ceiling == 1.0
    assert report.accuracy >= 0.85
    data = json.loads(report.to_json())
    assert {f["family"] for f in data["families"]} >= {"exist", "count", "one hop"}


def test_the_true_scene_reading_and_the_record_agree_on_every_generated_answer(renders):
    from bench.tabletop_questions import generate

    parser = CompositionalParser.for_world("tabletop")
    for index, (_, truth) in enumerate(renders):
        record = truth.scene_record(index, f"{truth.scene_id}.png")
        scene = TableScene.from_clevr(record, ("shape", "color", "material", "size"))
        for q in generate(record, per_scene=11):
            assert execute(parser.parse(q["question"]), scene) == q["answer"], q["question"]


def test_a_relation_between_things_read_close_together_is_not_answered_with_confidence(reasoner, renders):
    from dataclasses import replace

    from mmreason.qa.scene_programs import answer_program

    image, _ = renders[0]
    scene = reasoner.ground(image)
    sphere = next(i for i, o in enumerate(scene.objects) if o.type.value == "sphere")
    other = next(i for i in range(len(scene.objects)) if i != sphere)
    program = CompositionalParser.for_world(reasoner.world).parse("Are there any things behind the sphere?")

    def placed(gap):
        depths = {sphere: 0.0, other: gap}
        objects = tuple(
            o.with_measures({TT_IRI + "depth": depths.get(i, -3.0 - i)}) for i, o in enumerate(scene.objects)
        )
        return answer_program("behind?", program, replace(scene, objects=objects), reasoner.world)

    near, far = placed(0.1), placed(2.0)
    assert near.value is True and far.value is True
    # CLEVR keeps things 0.4 m apart along each direction, so a read difference is decided by its
    # sign; with sd 0.19 m per thing, a gap of 0.1 m read keeps its sign with probability
    # Φ(0.1 / (0.19·√2)) = Φ(0.372) = 0.645.
    assert 0.45 < near.confidence / scene.reliability < 0.8
    assert far.confidence > 0.95 * scene.reliability
    assert placed(-0.1).value is False


def test_the_worlds_spacing_sets_where_read_relations_are_decided():
    from dataclasses import replace

    world = resolve_world("tabletop").questions
    assert (world.margin, world.spacing, world.threshold) == (0.2, 0.4, 0.0)
    assert replace(world, spacing=0.0).threshold == 0.2
    assert replace(world, spacing=0.2).threshold == 0.2


def test_the_mirror_image_reading_finds_what_the_plain_one_finds(renders):
    from mmreason.worlds.tabletop.detector import _decode, load_detector
    from mmreason.worlds.tabletop.readers import _folder

    model, calibration = load_detector(_folder())
    for image, truth in renders[:4]:
        plain = _decode(model, calibration, image, mirrored=False)
        both = _decode(model, calibration, image, mirrored=True)
        for obj in truth.objects:
            if 2 * obj.visible_pixels < obj.full_pixels:
                continue
            assert max(box_iou(d.bbox, obj.bbox) for d in both) >= 0.5
            if max(box_iou(d.bbox, obj.bbox) for d in plain) >= 0.5:
                found = max(both, key=lambda d: box_iou(d.bbox, obj.bbox))
                assert found.shapes and abs(sum(found.shapes) - 1) < 1e-6


def test_the_detector_reads_each_things_colour_and_shape_itself(renders):
    # Its colour and shape heads against the renderer's records, on things at least half visible.
    from mmreason.worlds.tabletop.detector import _decode, load_detector
    from mmreason.worlds.tabletop.readers import _folder
    from mmreason.worlds.tabletop.render import COLOURS, SHAPES

    model, calibration = load_detector(_folder())
    right = total = 0
    for image, truth in renders:
        found = _decode(model, calibration, image)
        for obj in truth.objects:
            if 2 * obj.visible_pixels < obj.full_pixels:
                continue
            best = max(found, key=lambda d: box_iou(d.bbox, obj.bbox))
            assert len(best.colours) == len(COLOURS) and abs(sum(best.colours) - 1) < 1e-6
            total += 1
            colour = list(COLOURS)[max(range(len(COLOURS)), key=best.colours.__getitem__)]
            shape = SHAPES[max(range(len(SHAPES)), key=best.shapes.__getitem__)]
            right += (colour, shape) == (obj.color, obj.shape)
    assert total > 40 and right / total >= 0.97, (right, total)


def test_the_crop_reader_reads_every_true_box(renders):
    # The second look on the renderer's own boxes, against its records: every thing at least half
    # visible is held to be a thing, and its four attributes are read.
    from mmreason.worlds.tabletop.crops import read_crops
    from mmreason.worlds.tabletop.readers import _crops_folder
    from mmreason.worlds.tabletop.render import COLOURS, SHAPES

    right = total = 0
    for image, truth in renders:
        shown = [o for o in truth.objects if 2 * o.visible_pixels >= o.full_pixels]
        for obj, r in zip(shown, read_crops(image, [o.bbox for o in shown], _crops_folder()), strict=True):
            assert r.p_thing > 0.5
            assert abs(sum(r.shapes) - 1) < 1e-6 and abs(sum(r.colours) - 1) < 1e-6
            total += 1
            read = (
                SHAPES[max(range(len(SHAPES)), key=r.shapes.__getitem__)],
                list(COLOURS)[max(range(len(COLOURS)), key=r.colours.__getitem__)],
                "metal" if r.p_metal > 0.5 else "rubber",
                "large" if r.p_large > 0.5 else "small",
            )
            right += read == (obj.shape, obj.color, obj.material, obj.size)
    assert total > 40 and right / total >= 0.98, (right, total)


def test_the_crop_reader_places_a_box_found_too_large_on_its_thing(renders):
    # Each true box of a thing at least half visible, grown on two sides by a fifth of its side
    # (IoU 1/1.44 = 0.69 with the true one): the box the second look places is on the thing,
    # closer than the grown one, as the renderer's records say.
    from mmreason.worlds.tabletop.crops import read_crops, read_placed
    from mmreason.worlds.tabletop.readers import _crops_folder

    closer = total = 0
    for image, truth in renders:
        shown = [o for o in truth.objects if 2 * o.visible_pixels >= o.full_pixels]
        grown = [
            (x0, y0, x1 + round((x1 - x0) / 5), y1 + round((y1 - y0) / 5))
            for x0, y0, x1, y1 in (o.bbox for o in shown)
        ]
        read = read_crops(image, grown, _crops_folder())
        for obj, box, r in zip(shown, grown, read, strict=True):
            assert r.bbox is not None
            total += 1
            closer += box_iou(r.bbox, obj.bbox) > max(box_iou(box, obj.bbox), 0.75)
        # The cascade grounding runs: the same placed boxes, each read again there.
        placed = read_placed(image, grown, _crops_folder())
        assert [box for box, _ in placed] == [r.bbox for r in read]
        again = read_crops(image, [r.bbox for r in read], _crops_folder())
        assert [c.p_thing for _, c in placed] == pytest.approx([r.p_thing for r in again], abs=1e-6)
    assert total > 40 and closer / total >= 0.95, (closer, total)


def test_a_detection_moved_onto_its_true_box_stands_where_the_record_says(renders):
    # The renderer's boxes stand for a perfect second look: moved there, where each thing found
    # stands on the table is closer to the record's 3D centre than where the detector put it, and
    # pairs of things are put in the record's order left to right and front to back at least as
    # often. The detector's own places carry no bias of a pixel's size either way.
    import numpy as np

    from mmreason.worlds.tabletop.detector import _decode, load_detector, moved
    from mmreason.worlds.tabletop.readers import _folder

    model, calibration = load_detector(_folder())
    errors, order = {"detector": [], "moved": []}, {"detector": 0, "moved": 0}
    signed = []
    for image, truth in renders:
        right, behind = np.array(truth.directions["right"][:2]), np.array(truth.directions["behind"][:2])
        found = _decode(model, calibration, image)
        placed = []
        for obj in truth.objects:
            best = max(found, key=lambda d: box_iou(d.bbox, obj.bbox))
            if box_iou(best.bbox, obj.bbox) < 0.5:
                continue
            where = np.array(obj.coords[:2])
            wanted = np.array([where @ right, where @ behind])
            there = moved(best, obj.bbox, calibration, image.size)
            assert there.bbox == obj.bbox and there.shapes == best.shapes
            read = {
                "detector": np.array([best.across, best.depth]),
                "moved": np.array([there.across, there.depth]),
            }
            for name, value in read.items():
                errors[name].append(np.abs(value - wanted))
            signed.append(read["detector"] - wanted)
            placed.append((wanted, read))
        for i, (a, read_a) in enumerate(placed):
            for b, read_b in placed[:i]:
                for name in order:
                    order[name] += int(np.sum(np.sign(read_a[name] - read_b[name]) != np.sign(a - b)))
    assert len(signed) > 60
    mean = {name: np.mean(e, axis=0) for name, e in errors.items()}
    assert np.all(mean["moved"] < mean["detector"]), mean
    assert order["moved"] <= order["detector"], order
    # Half a cell of the detector's map (2 px) moves a thing about 0.07 m across and 0.13 m deep: a
    # centre read half a cell off would show here (on these renders: 0.063 m and -0.140 m).
    assert np.all(np.abs(np.mean(signed, axis=0)) < [0.03, 0.06]), np.mean(signed, axis=0)


def test_edges_are_read_as_shares_of_the_crop():
    # By hand: box (10, 10, 30, 40) is cropped at a square of side 30·1.5 + 4 = 49; the true box
    # (12, 8, 33, 41) lies 2, -2, 3 and 1 pixels from it, shares 2/49, -2/49, 3/49, 1/49.
    import numpy as np

    from mmreason.worlds.tabletop.crops import _placed, _shifts

    box, truth = np.array([[10, 10, 30, 40]], np.float32), np.array([[12, 8, 33, 41]], np.float32)
    assert _shifts(box, truth)[0] == pytest.approx([2 / 49, -2 / 49, 3 / 49, 1 / 49])
    assert _placed(box, _shifts(box, truth), (320, 240))[0] == pytest.approx([12, 8, 33, 41])
    # Kept inside the picture (32 by 24 here), and at least a pixel wide.
    assert _placed(box, np.array([[0, 0, 0.5, 0.5]], np.float32), (32, 24))[0] == pytest.approx(
        [10, 10, 32, 24]
    )
    assert _placed(box, np.array([[1.0, 0, 0, 0]], np.float32), (320, 240))[0][2] == pytest.approx(59 + 1)


def test_a_part_taught_as_no_thing_is_no_things_box():
    # A part of each true box, overlapping none by more than 0.3 and covering no other thing by half.
    import numpy as np

    from mmreason.worlds.tabletop.crops import _covered, _parts

    boxes = np.array([[0, 0, 40, 40], [30, 30, 50, 50], [100, 100, 104, 104]], np.float32)
    rng = np.random.default_rng(0)
    drawn = np.concatenate([_parts(boxes, rng) for _ in range(200)])
    assert len(drawn) > 100
    for part in drawn:
        t = tuple(float(v) for v in part)
        assert all(box_iou(t, tuple(b)) <= 0.3 for b in boxes)
        assert any(_covered(part, tuple(b)) > 0.999 for b in boxes)  # inside one true box
        assert all(_covered(b, t) < 0.5 for b in boxes)
    # The 4-pixel box is too small to hold a part 4 pixels wide.
    assert not any(_covered(part, (100, 100, 104, 104)) > 0.999 for part in drawn)


def test_a_crop_reader_trained_without_edges_still_loads(tmp_path):
    # A reader whose recipe names no edges (and no margin) reads at the 1.25 margin and places no box.
    import torch
    from safetensors.torch import save_file

    from mmreason.worlds.tabletop.crops import _CLASSES, _model, load_reader, read_crops, read_placed

    torch.manual_seed(0)
    model = _model(torch, 8, _CLASSES)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "model.safetensors"))
    (tmp_path / "recipe.json").write_text(json.dumps({"channels": 8}))
    loaded = load_reader(tmp_path)
    assert loaded.margin == 1.25 and not loaded.edges
    image, truth = render_scene(SEEDS[0])
    read = read_crops(image, [o.bbox for o in truth.objects], tmp_path)
    assert len(read) == len(truth.objects) and all(r.bbox is None for r in read)
    # It reads each box once, where it is.
    placed = read_placed(image, [o.bbox for o in truth.objects], tmp_path)
    assert [box for box, _ in placed] == [o.bbox for o in truth.objects]
    assert [c.p_thing for _, c in placed] == pytest.approx([r.p_thing for r in read])


def test_readings_are_joined_as_a_weighted_product():
    # By hand, weights 1/4 (detector), 1 (crop reader), 0 (CLIP): red 0.6^¼·0.3 = 0.26403,
    # blue 0.4^¼·0.7 = 0.55670, so P(red) = 0.26403 / 0.82073 = 0.3217; CLIP takes no part.
    from mmreason.vision.vocabulary import Vocabulary
    from mmreason.worlds.tabletop.readers import _WEIGHTS, COLOUR, _attribute

    assert _WEIGHTS == {"detector": 0.25, "crops": 1.0, "clip": 0.0}
    red, blue = TT_IRI + "red", TT_IRI + "blue"
    readings = [
        ("detector", {red: 0.6, blue: 0.4}),
        ("crops", {red: 0.3, blue: 0.7}),
        ("clip", {red: 0.9, blue: 0.1}),
    ]
    joined = _attribute(Vocabulary.from_world("tabletop"), COLOUR, readings)
    assert joined.value == "blue"
    assert joined.distribution[red] == pytest.approx(0.3217, abs=1e-4)
    assert joined.how == "the detector × the crop reader"
    # Without the crop reader's, the detector's alone, tempered: 0.6^¼ / (0.6^¼ + 0.4^¼) = 0.5253.
    alone = _attribute(Vocabulary.from_world("tabletop"), COLOUR, [readings[0], readings[2]])
    assert alone.value == "red" and alone.distribution[red] == pytest.approx(0.5253, abs=1e-4)
    assert alone.how == "the detector"


def test_the_second_look_drops_empty_boxes_and_one_thing_found_twice():
    from mmreason.worlds.tabletop.crops import CropReading
    from mmreason.worlds.tabletop.detector import Detection
    from mmreason.worlds.tabletop.readers import _judged

    def reading(thing, shape, colour):
        shapes = tuple(1.0 if k == shape else 0.0 for k in range(3))
        return CropReading(thing, 0.1, 0.9, shapes, tuple(1.0 if k == colour else 0.0 for k in range(8)))

    def found(box, score):
        return Detection(box, score, 0.0, 0.0, 0.1)

    pairs = [
        (found((0, 0, 20, 20), 0.5), reading(0.99, 0, 1)),  # overlaps the next by IoU 0.6, read alike
        (found((0, 0, 20, 25), 0.9), reading(0.98, 0, 1)),
        (found((5, 5, 25, 25), 0.4), reading(0.97, 1, 2)),  # overlaps it too (0.5), another colour
        (found((60, 60, 70, 70), 0.8), reading(0.20, 2, 3)),  # no thing
        (found((100, 0, 120, 20), 0.3), reading(0.90, 0, 1)),  # alike, but apart
        # Overlaps the last by IoU 144/496 = 0.29: another shape, but its colour and material, so
        # one face of it found again.
        (found((108, 0, 128, 12), 0.2), reading(0.95, 2, 1)),
        # Low peaks (below crops.PROPOSAL_THRESHOLD): kept only where the reader is sure.
        (found((200, 0, 210, 10), 0.05), reading(0.95, 0, 4)),
        (found((200, 50, 210, 60), 0.05), reading(0.99, 0, 4)),
    ]
    kept = _judged(pairs)
    assert [d.bbox for d, _ in kept] == [
        (0, 0, 20, 25),
        (5, 5, 25, 25),
        (100, 0, 120, 20),
        (200, 50, 210, 60),
    ]


def test_the_crop_reader_trains_on_renders_and_reports_held_out_figures(tmp_path):
    from mmreason.vision.labels import write_renders
    from mmreason.worlds.tabletop.crops import load_reader, read_crops, train_reader
    from mmreason.worlds.tabletop.readers import _folder

    write_renders("tabletop", tmp_path / "renders", seed=31_000_000, count=24)
    recipe = train_reader(
        tmp_path / "renders", tmp_path / "crops", detector=_folder(), epochs=1, validation=8, progress=False
    )
    assert (tmp_path / "crops" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "crops" / "recipe.json").read_text())["train_scenes"] == 16
    figures = recipe["validation"]
    assert figures["matched_boxes"] > 20
    assert 0.0 <= figures["shape_accuracy"] <= 1.0 and figures["detector_shape_accuracy"] > 0.9
    load_reader(tmp_path / "crops")
    image, truth = render_scene(31_000_000)
    assert len(read_crops(image, [o.bbox for o in truth.objects], tmp_path / "crops")) == len(truth.objects)


def test_a_render_folder_too_small_to_hold_out_is_refused(tmp_path):
    from mmreason.errors import InvalidInputError
    from mmreason.vision.labels import write_renders
    from mmreason.worlds.tabletop.crops import train_reader
    from mmreason.worlds.tabletop.readers import _folder

    write_renders("tabletop", tmp_path, seed=31_000_100, count=3)
    with pytest.raises(InvalidInputError, match="3 scenes; need more than the 200 held out"):
        train_reader(tmp_path, tmp_path / "crops", detector=_folder(), progress=False)


def _uncertain_colour(scene, index, wanted, read_as, p_wanted):
    """``scene`` with object ``index``'s colour read as ``read_as``, ``wanted`` at ``p_wanted``."""
    from dataclasses import replace

    from mmreason.vision.grounding import Attribute
    from mmreason.vision.vocabulary import Vocabulary

    vocabulary = Vocabulary.from_world("tabletop")
    prop = TT_IRI + "colour"
    best, other = vocabulary.concept(prop, read_as), vocabulary.concept(prop, wanted)
    distribution = {best.iri: 1.0 - p_wanted, other.iri: p_wanted}
    colour = Attribute(best, best.label, 1.0 - p_wanted, distribution)
    objects = list(scene.objects)
    objects[index] = objects[index].with_attribute(prop, colour)
    return replace(scene, objects=tuple(objects))


def test_a_statement_is_taken_as_true_and_saved_with_the_conversation(reasoner, renders):
    # On the true scene, a misread colour: the statement's object has the read colour at 0.7 and
    # the stated one at 0.3, so the most probable reading has none that fits. By hand: q = 0.3
    # for it and 0 for the rest, so its posterior is 1; answers about "it" use what was told.
    from bench.tabletop_dialogs import truth_scene
    from mmreason.dialogue import Conversation

    for index, (image, truth) in enumerate(renders):
        record = truth.scene_record(index, f"{truth.scene_id}.png")
        colours = Counter(o.color for o in truth.objects)
        target = next((i for i, o in enumerate(truth.objects) if colours[o.color] == 1), None)
        if target is None:
            continue
        obj = truth.objects[target]
        misread = next(c for c in ("red", "blue", "green", "gray") if colours[c] == 0)
        scene = _uncertain_colour(truth_scene(record), target, obj.color, misread, 0.3)
        chat = Conversation(reasoner, image, scene=scene)
        told = chat.tell(f"There is a {obj.color} thing.")
        assert told.value == scene.objects[target].id and told.confidence == pytest.approx(1.0)
        assert chat.ask("What is its colour?").value == obj.color
        assert chat.ask("What shape is it?").value == obj.shape
        resumed = Conversation.from_json(reasoner, chat.to_json(), image=image)
        resumed.scene = scene
        assert resumed.state.told == {scene.objects[target].id: {"color": obj.color}}
        assert resumed.ask("What is its colour?").value == obj.color
        # Two objects that may each be it: the best fit is unsure, and so is every answer about it.
        second = next(i for i in range(len(truth.objects)) if i != target)
        doubled = _uncertain_colour(scene, second, obj.color, misread, 0.2)
        chat = Conversation(reasoner, image, scene=doubled)
        told = chat.tell(f"There is a {obj.color} thing.")
        # By hand: odds 0.3/0.7 against 0.2/0.8, so the posterior is 0.4286/(0.4286+0.25) = 0.632.
        assert told.value == scene.objects[target].id
        assert told.confidence == pytest.approx((3 / 7) / (3 / 7 + 1 / 4), abs=1e-4)
        assert chat.ask("What shape is it?").confidence <= told.confidence + 1e-9
        # Nothing read near the statement: not noted, said so.
        chat = Conversation(reasoner, image, scene=truth_scene(record))
        absent = next(c for c in ("red", "blue", "green", "gray", "cyan") if colours[c] == 0)
        assert chat.tell(f"There is a {absent} thing.").value is None
        return
    pytest.fail("no render with a colour only one thing has")
