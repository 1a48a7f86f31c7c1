"""CLEVR's functional programs, its scene and question files, the compositional parser and `mmreason eval`.

Known answers first: a four-object scene whose every answer is worked out by hand from CLEVR's
semantics (Johnson et al. 2017, supplementary: relate[left](o) is the set of objects left of o;
same_<attr>(o) excludes o itself). Then the parser against the programs CLEVR's templates give,
and the whole path on scenes of a question generator that computes its own answers.
"""

from __future__ import annotations

import json
import random

import pytest

from bench.tabletop_questions import ATTRIBUTES, VALUES, generate, write_questions
from mmreason.cli import main
from mmreason.errors import InvalidInputError, MissingFileError, WorldError
from mmreason.qa.clevr import (
    CLEVR_FAMILIES,
    ProgramError,
    TableScene,
    answer_prior,
    execute,
    family_of,
    read_questions,
    read_scenes,
)
from mmreason.qa.compose import CompositionalParser
from mmreason.worlds import World, bundled_world_dir

# Four objects on a line, left to right: 0 red rubber large cube, 1 blue metal small sphere,
# 2 red metal small cylinder, 3 gray rubber large sphere. Object 1 is behind all others.
OBJECTS = (
    {"shape": "cube", "color": "red", "material": "rubber", "size": "large"},
    {"shape": "sphere", "color": "blue", "material": "metal", "size": "small"},
    {"shape": "cylinder", "color": "red", "material": "metal", "size": "small"},
    {"shape": "sphere", "color": "gray", "material": "rubber", "size": "large"},
)
RELATIONS = {
    "left": ((), (0,), (0, 1), (0, 1, 2)),
    "right": ((1, 2, 3), (2, 3), (3,), ()),
    "behind": ((1,), (), (1,), (1,)),
    "front": ((), (0, 2, 3), (), ()),
}
SCENE = TableScene(OBJECTS, RELATIONS)


def node(kind, inputs=(), side=None, *, v1=False):
    out = {"function" if v1 else "type": kind, "inputs": list(inputs)}
    if side is not None:
        out["value_inputs" if v1 else "side_inputs"] = [side]
    return out


def the(shape, *, start=0, extra=()):
    """scene → filter_shape[shape] (→ extra filters) → unique, as nodes from index ``start``."""
    nodes = [node("scene"), node("filter_shape", [start], shape)]
    for attribute, value in extra:
        nodes.append(node(f"filter_{attribute}", [start + len(nodes) - 1], value))
    nodes.append(node("unique", [start + len(nodes) - 1]))
    return nodes


@pytest.mark.parametrize(
    ("program", "answer"),
    [
        # How many red things? objects 0 and 2.
        ([node("scene"), node("filter_color", [0], "red"), node("count", [1])], "2"),
        # Is there a metal cube? no.
        (
            [
                node("scene"),
                node("filter_material", [0], "metal"),
                node("filter_shape", [1], "cube"),
                node("exist", [2]),
            ],
            "no",
        ),
        # What colour is the cylinder? red.
        ([*the("cylinder"), node("query_color", [2])], "red"),
        # How many things are left of the cylinder? 0 and 1.
        ([*the("cylinder"), node("relate", [2], "left"), node("count", [3])], "2"),
        # What material is the sphere left of the cylinder? (one hop, unique among 0,1) → metal.
        (
            [
                *the("cylinder"),
                node("relate", [2], "left"),
                node("filter_shape", [3], "sphere"),
                node("unique", [4]),
                node("query_material", [5]),
            ],
            "metal",
        ),
        # Two hops: the thing in front of (the sphere left of the cylinder): 0, 2, 3 → count 3.
        (
            [
                *the("cylinder"),
                node("relate", [2], "left"),
                node("filter_shape", [3], "sphere"),
                node("unique", [4]),
                node("relate", [5], "front"),
                node("count", [6]),
            ],
            "3",
        ),
        # Same colour as the cylinder, other than itself: the cube.
        ([*the("cylinder"), node("same_color", [2]), node("unique", [3]), node("query_shape", [4])], "cube"),
        # How many other things share the cube's size? the gray sphere.
        ([*the("cube"), node("same_size", [2]), node("count", [3])], "1"),
        # Is the cube the same colour as the cylinder? yes.
        (
            [
                *the("cube"),
                node("query_color", [2]),
                *the("cylinder", start=4),
                node("query_color", [6]),
                node("equal_color", [3, 7]),
            ],
            "yes",
        ),
        # Are there more spheres than cubes? 2 > 1.
        (
            [
                node("scene"),
                node("filter_shape", [0], "sphere"),
                node("count", [1]),
                node("scene"),
                node("filter_shape", [3], "cube"),
                node("count", [4]),
                node("greater_than", [2, 5]),
            ],
            "yes",
        ),
        # Fewer red things than metal things? 2 < 2 no; equal yes.
        (
            [
                node("scene"),
                node("filter_color", [0], "red"),
                node("count", [1]),
                node("scene"),
                node("filter_material", [3], "metal"),
                node("count", [4]),
                node("less_than", [2, 5]),
            ],
            "no",
        ),
        (
            [
                node("scene"),
                node("filter_color", [0], "red"),
                node("count", [1]),
                node("scene"),
                node("filter_material", [3], "metal"),
                node("count", [4]),
                node("equal_integer", [2, 5]),
            ],
            "yes",
        ),
        # Things both right of the cube and left of the gray sphere: 1 and 2.
        (
            [
                *the("cube"),
                node("relate", [2], "right"),
                *the("sphere", start=4, extra=[("color", "gray")]),
                node("relate", [7], "left"),
                node("intersect", [3, 8]),
                node("count", [9]),
            ],
            "2",
        ),
        # Red cubes or small spheres: 0 and 1.
        (
            [
                node("scene"),
                node("filter_color", [0], "red"),
                node("filter_shape", [1], "cube"),
                node("scene"),
                node("filter_size", [3], "small"),
                node("filter_shape", [4], "sphere"),
                node("union", [2, 5]),
                node("count", [6]),
            ],
            "2",
        ),
        # Is the cylinder red? yes. A small metal thing? yes. A large one? no. Not red? no.
        ([*the("cylinder"), node("verify", [2], "color:red")], "yes"),
        (
            [
                *the("cylinder"),
                {"type": "verify", "inputs": [2], "side_inputs": ["size:small", "material:metal"]},
            ],
            "yes",
        ),
        (
            [
                *the("cylinder"),
                {"type": "verify", "inputs": [2], "side_inputs": ["size:large", "material:metal"]},
            ],
            "no",
        ),
        ([*the("cylinder"), node("verify", [2], "color:red"), node("negate", [3])], "no"),
        # Are there no metal cubes? yes (the only cube is rubber).
        (
            [
                node("scene"),
                node("filter_material", [0], "metal"),
                node("filter_shape", [1], "cube"),
                node("exist", [2]),
                node("negate", [3]),
            ],
            "yes",
        ),
    ],
)
def test_programs_give_the_answers_worked_by_hand(program, answer):
    assert execute(program, SCENE) == answer


def test_clevr_v1_keys_function_and_value_inputs_run_the_same():
    v1 = [node("scene", v1=True), node("filter_color", [0], "red", v1=True), node("count", [1], v1=True)]
    assert execute(v1, SCENE) == "2"


def test_a_description_that_fits_no_single_object_is_an_error_not_an_answer():
    with pytest.raises(ProgramError, match="2 objects fit, not one"):
        execute([*the("sphere"), node("query_color", [2])], SCENE)
    with pytest.raises(ProgramError, match="unknown relation"):
        execute([*the("cube"), node("relate", [2], "above")], SCENE)
    with pytest.raises(ProgramError, match="unknown function"):
        execute([node("scene"), node("teleport", [0])], SCENE)


def test_families_follow_the_program_structure():
    hop2 = [
        *the("cylinder"),
        node("relate", [2], "left"),
        node("unique", [3]),
        node("relate", [4], "front"),
        node("count", [5]),
    ]
    assert family_of(hop2) == "two hop"
    assert family_of([node("scene"), node("exist", [0])]) == "exist"
    assert family_of([*the("cube"), node("same_size", [2]), node("count", [3])]) == "same attribute"


PARSER = CompositionalParser.for_world(bundled_world_dir("tabletop"))


def compact(program):
    return " ".join(n["type"] + (f"[{n['side_inputs'][0]}]" if n.get("side_inputs") else "") for n in program)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many red things are there?", "scene filter_color[red] count"),
        (
            "Is there a big shiny ball?",
            "scene filter_size[large] filter_material[metal] filter_shape[sphere] exist",
        ),
        (
            "Are there any tiny matte blocks?",
            "scene filter_size[small] filter_material[rubber] filter_shape[cube] exist",
        ),
        (
            "What is the big ball made of?",
            "scene filter_size[large] filter_shape[sphere] unique query_material",
        ),
        (
            "How big is the grey cylinder?",
            "scene filter_color[gray] filter_shape[cylinder] unique query_size",
        ),
        (
            "The tiny ball has what colour?",
            "scene filter_size[small] filter_shape[sphere] unique query_color",
        ),
        (
            "What shape is the object behind the cube that is left of the gray sphere?",
            "scene filter_color[gray] filter_shape[sphere] unique relate[left] filter_shape[cube] unique "
            "relate[behind] unique query_shape",
        ),
        (
            "There is a big rubber cube; how many spheres are on the left side of it?",
            "scene filter_size[large] filter_material[rubber] filter_shape[cube] unique relate[left] "
            "filter_shape[sphere] count",
        ),
        (
            "Are the cube and the ball made of the same material?",
            "scene filter_shape[cube] unique query_material scene filter_shape[sphere] unique query_material "
            "equal_material",
        ),
        (
            "Are there fewer cylinders than metal things?",
            "scene filter_shape[cylinder] count scene filter_material[metal] count less_than",
        ),
        (
            "How many other things are the same size as the red cube?",
            "scene filter_color[red] filter_shape[cube] unique same_size count",
        ),
        (
            "How many things are either red cubes or small spheres?",
            "scene filter_color[red] filter_shape[cube] scene filter_size[small] filter_shape[sphere] "
            "union count",
        ),
        ("How many things are red or cubes?", "scene filter_color[red] scene filter_shape[cube] union count"),
        (
            "How many things are left of the red cube and behind the sphere?",
            "scene filter_color[red] filter_shape[cube] unique relate[left] scene filter_shape[sphere] "
            "unique relate[behind] intersect count",
        ),
        ("Does the scene contain a red cube?", "scene filter_color[red] filter_shape[cube] exist"),
        (
            "Can you see any matte balls in the picture?",
            "scene filter_material[rubber] filter_shape[sphere] exist",
        ),
        (
            "What is the number of items on the left of the cube?",
            "scene filter_shape[cube] unique relate[left] count",
        ),
        (
            "Please tell me the colour of the big block.",
            "scene filter_size[large] filter_shape[cube] unique query_color",
        ),
        ("What kind of material is the ball?", "scene filter_shape[sphere] unique query_material"),
        ("Is the ball metal or rubber?", "scene filter_shape[sphere] unique query_material"),
        # yes/no about one thing, and negation parsed, never matched away
        ("Is the ball shiny?", "scene filter_shape[sphere] unique verify[material:metal]"),
        ("Is the ball made of rubber?", "scene filter_shape[sphere] unique verify[material:rubber]"),
        ("Is the ball not red?", "scene filter_shape[sphere] unique verify[color:red] negate"),
        ("Isn't the ball red?", "scene filter_shape[sphere] unique verify[color:red]"),
        ("Are there no red cubes?", "scene filter_color[red] filter_shape[cube] exist negate"),
    ],
)
def test_the_parser_reads_clevr_phrasings_with_the_worlds_synonyms(question, expected):
    assert compact(PARSER.parse(question)) == expected


@pytest.mark.parametrize(
    "question", ["What is the meaning of life?", "How many dogs are there?", "", "Is the cube?"]
)
def test_questions_outside_the_grammar_are_not_parsed(question):
    assert PARSER.parse(question) is None


def random_scene(k):
    rng = random.Random(k)
    n = rng.randint(3, 10)
    objects = [
        {a: rng.choice(VALUES[a]) for a in ATTRIBUTES}
        | {"3d_coords": [rng.uniform(-3, 3), rng.uniform(-3, 3), 0.35]}
        for _ in range(n)
    ]
    axes = {"left": (0, -1), "right": (0, 1), "front": (1, -1), "behind": (1, 1)}
    relationships = {
        name: [
            [
                j
                for j in range(n)
                if j != i and sign * (objects[j]["3d_coords"][axis] - objects[i]["3d_coords"][axis]) > 0.2
            ]
            for i in range(n)
        ]
        for name, (axis, sign) in axes.items()
    }
    return {
        "image_index": k,
        "image_filename": f"{k}.png",
        "objects": objects,
        "relationships": relationships,
    }


def test_generated_questions_are_read_and_answered_as_the_generator_answered_them():
    """The generator computes answers with its own lookups; ours parse the text and run the program."""
    seen = set()
    for k in range(60):
        record = random_scene(k)
        scene = TableScene.from_clevr(record, ATTRIBUTES)
        for q in generate(record, per_scene=11, seed=3):
            seen.add(q["family"])
            assert family_of(q["program"]) == q["family"]
            assert execute(q["program"], scene) == q["answer"], q
            assert execute(PARSER.parse(q["question"]), scene) == q["answer"], q
    assert seen == set(CLEVR_FAMILIES)


def test_the_question_type_prior_answers_the_commonest_answer_per_type(tmp_path):
    scenes = {"scenes": [random_scene(k) for k in range(30)]}
    (tmp_path / "scenes.json").write_text(json.dumps(scenes))
    write_questions(tmp_path / "scenes.json", tmp_path / "q.json", per_scene=11)
    questions = read_questions(tmp_path / "q.json")
    prior = answer_prior(questions)
    assert prior["exist"] in ("yes", "no") and prior["query_color"] in VALUES["color"]
    counts = [q.answer for q in questions if q.program[-1]["type"] == "count"]
    assert prior["count"] == max(set(counts), key=counts.count)


def write(path, data):
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({}, r"\(top\)\.scenes: missing"),
        (
            {"scenes": [{"image_index": 0, "image_filename": "a.png", "objects": [{"shape": "cube"}]}]},
            r"scenes\[0\]\.objects\[0\]\.size: missing",
        ),
        (
            {
                "scenes": [
                    {
                        "image_index": 0,
                        "image_filename": "a.png",
                        "objects": [OBJECTS[0] | {"3d_coords": [0, 0]}],
                    }
                ]
            },
            r"scenes\[0\]\.objects\[0\]\.3d_coords: expected three numbers",
        ),
        (
            {
                "scenes": [
                    {
                        "image_index": 0,
                        "image_filename": "a.png",
                        "objects": [OBJECTS[0] | {"3d_coords": [0, 0, 0]}],
                        "relationships": {"left": [[4]]},
                    }
                ]
            },
            r"scenes\[0\]\.relationships\.left\[0\]: '4' is not an object index",
        ),
        (
            {"scenes": [{"image_index": "zero", "image_filename": "a.png", "objects": []}]},
            r"scenes\[0\]\.image_index: expected an integer",
        ),
    ],
)
def test_a_scenes_file_outside_clevrs_schema_is_refused_naming_file_and_key(tmp_path, data, match):
    path = write(tmp_path / "scenes.json", data)
    with pytest.raises(InvalidInputError, match=match) as exc:
        read_scenes(path, ATTRIBUTES)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"questions": [{"image_index": 0}]}, r"questions\[0\]\.question: missing"),
        (
            {"questions": [{"question": "Why?", "image_index": 0, "program": [{"inputs": []}]}]},
            r"program\[0\]: a node needs a function",
        ),
        (
            {
                "questions": [
                    {"question": "Why?", "image_index": 0, "program": [{"type": "scene", "inputs": [3]}]}
                ]
            },
            r"program\[0\]\.inputs: expected indices of earlier nodes",
        ),
    ],
)
def test_a_questions_file_outside_clevrs_schema_is_refused_naming_file_and_key(tmp_path, data, match):
    with pytest.raises(InvalidInputError, match=match):
        read_questions(write(tmp_path / "q.json", data))


def test_files_that_are_missing_or_not_json_are_named(tmp_path):
    with pytest.raises(MissingFileError, match=r"nope\.json"):
        read_scenes(tmp_path / "nope.json", ATTRIBUTES)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match=r"bad\.json:1: not JSON"):
        read_questions(tmp_path / "bad.json")


def test_mmreason_eval_scores_a_rendered_set_per_family(tmp_path, capsys):
    assert (
        main(["render", "--world", "tabletop", "--seed", "40", "--count", "3", "--out", str(tmp_path)]) == 0
    )
    records = json.loads((tmp_path / "scenes.json").read_text())["scenes"]
    assert [r["image_index"] for r in records] == [0, 1, 2]
    assert all((tmp_path / "images" / r["image_filename"]).is_file() for r in records)
    write_questions(tmp_path / "scenes.json", tmp_path / "questions.json", per_scene=11)
    code = main(
        [
            "eval",
            "--world",
            "tabletop",
            "--scenes",
            str(tmp_path / "scenes.json"),
            "--questions",
            str(tmp_path / "questions.json"),
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["questions"] == 33 and report["ceiling"] == 1.0
    assert report["accuracy"] is None  # no --images: nothing was read from pictures
    assert "| all | 33 | — | 1.0000 | 0 |" in capsys.readouterr().out


def test_eval_refuses_a_question_about_an_image_the_scenes_file_lacks(tmp_path):
    write(tmp_path / "scenes.json", {"scenes": [random_scene(0)]})
    write(
        tmp_path / "q.json",
        {"questions": [{"question": "How many things are there?", "image_index": 7, "answer": "3"}]},
    )
    from mmreason.qa.clevr_eval import evaluate_questions

    with pytest.raises(InvalidInputError, match=r"questions\[0\]\.image_index: 7 is not an image_index"):
        evaluate_questions("tabletop", tmp_path / "scenes.json", tmp_path / "q.json")


def _tabletop_copy(tmp_path, edit):
    """A copy of the tabletop's ontology and manifest (without its CLIP model), the manifest's text
    passed through ``edit``."""
    folder = tmp_path / "w"
    folder.mkdir()
    source = bundled_world_dir("tabletop")
    (folder / "tabletop.ttl").write_text((source / "tabletop.ttl").read_text())
    manifest = (source / "world.toml").read_text().replace('encoder = "clip"\n', "")
    (folder / "world.toml").write_text(edit(manifest))
    return folder


def test_a_questions_table_naming_a_missing_property_is_refused(tmp_path):
    folder = _tabletop_copy(tmp_path, lambda m: m.replace('color = "tt:colour"', 'color = "tt:hue"'))
    with pytest.raises(WorldError, match=r"questions\.attributes\.color: 'tt:hue' is not in the ontology"):
        World.load(folder)


@pytest.mark.parametrize(
    ("spread", "match"),
    [
        ('{ "tt:colour" = 0.1 }', r"questions\.spread\.tt:colour: 'tt:colour' is the measure of no relation"),
        ('{ "tt:depth" = -1 }', r"questions\.spread\.tt:depth: expected a number ≥ 0, found -1"),
        ("0.2", r"questions\.spread: expected a table of measure = number"),
    ],
)
def test_a_spread_that_is_not_a_relations_measure_or_not_a_number_is_refused(tmp_path, spread, match):
    def edit(manifest):
        lines = [
            f"spread = {spread}" if line.startswith("spread =") else line for line in manifest.splitlines()
        ]
        return "\n".join(lines) + "\n"

    folder = _tabletop_copy(tmp_path, edit)
    with pytest.raises(WorldError, match=match):
        World.load(folder)


def test_a_spacing_that_is_not_a_number_is_refused_with_its_key(tmp_path):
    folder = _tabletop_copy(tmp_path, lambda m: m.replace("spacing = 0.4", 'spacing = "wide"'))
    with pytest.raises(WorldError, match=r"questions\.spacing: expected a number ≥ 0, found 'wide'"):
        World.load(folder)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What colour is it?", "refer[2] query_color"),
        ("Is it red?", "refer[2] verify[color:red]"),
        ("Is it not a large cube?", "refer[2] verify[size:large] negate"),
        ("What about its shape?", "refer[2] query_shape"),
        ("And material?", "refer[2] query_material"),
        ("How many things are to its left?", "refer[2] relate[left] count"),
        ("Is there anything behind it?", "refer[2] relate[behind] exist"),
        ("How many other things share its colour?", "refer[2] same_color count"),
        ("Are there other objects that share its size?", "refer[2] same_size exist"),
        ("What is the colour of the object to its right?", "refer[2] relate[right] unique query_color"),
        # The attribute last asked about, of another object.
        ("What about the red cube?", "scene filter_color[red] filter_shape[cube] unique query_size"),
        ("And that of the previous small thing?", "mentioned[1,0] filter_size[small] latest[1,0] query_size"),
    ],
)
def test_follow_ups_read_it_the_last_attribute_and_earlier_mentions(question, expected):
    assert compact(PARSER.parse(question, it=2, attribute="size", mentioned=[1, 0])) == expected


def test_without_an_earlier_turn_pronouns_and_ellipsis_are_not_parsed():
    for question in ("What colour is it?", "And material?", "And that of the previous small thing?"):
        assert PARSER.parse(question) is None


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "There is a small red cube.",
            "scene filter_size[small] filter_color[red] filter_shape[cube] unique",
        ),
        (
            "A small cylinder is in front of all things.",
            "scene extreme[front] filter_size[small] filter_shape[cylinder] unique",
        ),
        (
            "There is a big ball behind all other objects.",
            "scene extreme[behind] filter_size[large] filter_shape[sphere] unique",
        ),
    ],
)
def test_statements_that_introduce_an_object(statement, expected):
    assert compact(PARSER.parse_statement(statement)) == expected
    assert PARSER.parse_statement("The cube is nice.") is None


def test_conversation_functions_give_the_answers_worked_by_hand():
    # refer: object 3 (the gray sphere); left of it: 0, 1, 2.
    assert execute([node("refer", side="3"), node("relate", [0], "left"), node("count", [1])], SCENE) == "3"
    # The latest mentioned of 2, 0 that is red: 2 (the cylinder), then 0 when 2 is not mentioned.
    program = [node("mentioned", side="2,0"), node("filter_color", [0], "red"), node("latest", [1], "2,0")]
    assert execute([*program, node("query_shape", [2])], SCENE) == "cylinder"
    program = [node("mentioned", side="0,2"), node("filter_color", [0], "red"), node("latest", [1], "0,2")]
    assert execute([*program, node("query_shape", [2])], SCENE) == "cube"
    # Behind every other thing: the blue sphere alone; in front of every other: none.
    assert (
        execute(
            [node("scene"), node("extreme", [0], "behind"), node("unique", [1]), node("query_color", [2])],
            SCENE,
        )
        == "blue"
    )
    assert execute([node("scene"), node("extreme", [0], "front"), node("count", [1])], SCENE) == "0"
    with pytest.raises(ProgramError, match="names no object"):
        execute([node("refer", side="9"), node("count", [0])], SCENE)
