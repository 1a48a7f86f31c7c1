"""CLEVR's functional programs, and its scene and question files, over any world's objects.

CLEVR (Johnson et al., CVPR 2017) writes a question as a program: a list of
nodes, each a function with its inputs (indices of earlier nodes) and side
inputs (a value or a relation name). This module reads CLEVR's ``scenes.json``
and ``questions.json`` (the v1.0 keys ``function``/``value_inputs`` and the
generator's ``type``/``side_inputs`` alike) and runs programs on a
:class:`TableScene`: objects as attribute name → value, and for each relation
``relationships[name][i]``, the objects that stand ``name`` of object ``i``.

Functions beyond CLEVR's serve conversations: ``refer[i]`` is object ``i`` (the
one an earlier turn picked), ``mentioned[i,j,...]`` the objects earlier turns
named (most recent first), ``latest`` the most recent of those a set holds, and
``extreme[relation]`` (CLEVR-Dialog's captions: "in front of all things") the
objects of a set that stand so of every other object; ``verify[attr:value,...]``
whether one object has every value named ("Is it red?"), and ``negate`` the
opposite of a yes/no ("Is it not dark?", "Are there no boxes?").

Attribute names (``color``, ``shape`` ...) and relation names (``left`` ...)
are whatever the world's ``[questions]`` table declares; nothing here knows a
world's vocabulary.

>>> scene = TableScene(
...     objects=({"kind": "box", "tone": "dark"}, {"kind": "ring", "tone": "light"}),
...     relationships={"left": ((1,), ())},
... )
>>> program = [
...     {"type": "scene", "inputs": []},
...     {"type": "filter_kind", "inputs": [0], "side_inputs": ["box"]},
...     {"type": "unique", "inputs": [1]},
...     {"type": "relate", "inputs": [2], "side_inputs": ["left"]},
...     {"type": "query_tone", "inputs": [3]},
... ]
>>> try:
...     execute(program, scene)
... except ProgramError as exc:
...     print(exc)
node 4: query_tone needs one object, found a set of 1
>>> execute(program[:4] + [{"type": "unique", "inputs": [3]}, {"type": "query_tone", "inputs": [4]}], scene)
'light'
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mmreason.errors import InvalidInputError, MissingFileError
from mmreason.limits import quote

__all__ = [
    "CLEVR_FAMILIES",
    "ProgramError",
    "Question",
    "TableScene",
    "answer_text",
    "execute",
    "family_of",
    "node_function",
    "read_questions",
    "read_scenes",
    "run_nodes",
]

#: The question families reported, in CLEVR's order of its template files.
CLEVR_FAMILIES = (
    "exist",
    "count",
    "query attribute",
    "one hop",
    "two hop",
    "three hop",
    "and",
    "or",
    "same attribute",
    "compare attribute",
    "compare integer",
)
_COMPARE_INTEGER = {"equal_integer", "less_than", "greater_than"}
#: Files larger than this are refused before they are parsed.
MAX_JSON_BYTES = 512 * 1024 * 1024


class ProgramError(InvalidInputError):
    """A program that cannot run on a scene: a ``unique`` on a set that is not one object, a
    node whose inputs are of the wrong kind, an unknown function, attribute or relation."""


@dataclass(frozen=True, slots=True)
class TableScene:
    """A scene as programs see it: each object's attributes, and the relations between them.

    ``relationships[name][i]`` holds the indices of the objects that are ``name`` of
    object ``i`` (CLEVR's convention: ``relationships["left"][i]`` are left of ``i``).
    """

    objects: tuple[Mapping[str, str], ...]
    relationships: Mapping[str, tuple[tuple[int, ...], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    image_filename: str = ""
    image_index: int = 0

    @classmethod
    def from_clevr(cls, record: Mapping[str, Any], attributes: Sequence[str]) -> TableScene:
        """A scene from one record of a CLEVR ``scenes.json`` (already checked by :func:`read_scenes`)."""
        objects = tuple(MappingProxyType({a: str(o[a]) for a in attributes}) for o in record["objects"])
        relationships = {
            name: tuple(tuple(int(j) for j in row) for row in rows)
            for name, rows in record.get("relationships", {}).items()
        }
        return cls(
            objects,
            MappingProxyType(relationships),
            str(record.get("image_filename", "")),
            int(record.get("image_index", 0)),
        )


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a CLEVR ``questions.json``: its text, program, answer and scene."""

    question: str
    program: tuple[Mapping[str, Any], ...]
    answer: str | None
    image_index: int
    image_filename: str = ""
    family: str = ""
    index: int = 0


def node_function(node: Mapping[str, Any]) -> str:
    """A node's function name, under either key CLEVR's files use (``type`` or ``function``)."""
    return str(node.get("type", node.get("function", "")))


def _side(node: Mapping[str, Any]) -> list[str]:
    return [str(v) for v in node.get("side_inputs", node.get("value_inputs", []))]


def execute(program: Sequence[Mapping[str, Any]], scene: TableScene) -> str:
    """Run ``program`` on ``scene``; the answer as CLEVR writes it ("yes", "3", "red").

    Raises:
        ProgramError: a node cannot run (the message names the node and why).
    """
    outputs = run_nodes(program, scene)
    if not outputs:
        raise ProgramError("an empty program has no answer")
    return answer_text(outputs[-1])


def run_nodes(program: Sequence[Mapping[str, Any]], scene: TableScene) -> list[Any]:
    """Every node's output, in order: sets of object indices, an object index, a count, a value."""
    outputs: list[Any] = []
    everything = frozenset(range(len(scene.objects)))
    for index, node in enumerate(program):
        name = node_function(node)
        try:
            inputs = [outputs[i] for i in node.get("inputs", [])]
        except (IndexError, TypeError):
            raise ProgramError(
                f"node {index}: {name}: inputs {node.get('inputs')!r} name no earlier node"
            ) from None
        outputs.append(_run(index, name, inputs, _side(node), scene, everything))
    return outputs


def answer_text(value: Any) -> str:
    """A program's output as CLEVR's answers write it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _one(index: int, name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    shown = f"a set of {len(value)}" if isinstance(value, frozenset) else repr(value)
    raise ProgramError(f"node {index}: {name} needs one object, found {shown}")


def _set(index: int, name: str, value: Any) -> frozenset[int]:
    if isinstance(value, frozenset):
        return value
    raise ProgramError(f"node {index}: {name} needs a set of objects, found {value!r}")


def _attribute(index: int, name: str, attribute: str, scene: TableScene) -> str:
    if scene.objects and attribute not in scene.objects[0]:
        raise ProgramError(f"node {index}: {name}: the scene's objects have no attribute {attribute!r}")
    return attribute


def _run(
    index: int, name: str, inputs: list[Any], side: list[str], scene: TableScene, everything: frozenset[int]
) -> Any:
    objects = scene.objects
    if name == "scene":
        return everything
    if name == "refer":  # not CLEVR's: the object an earlier turn of a conversation picked
        if len(side) != 1 or not side[0].isdigit() or int(side[0]) not in everything:
            raise ProgramError(f"node {index}: refer: {side!r} names no object of the scene")
        return int(side[0])
    if name in ("mentioned", "latest"):  # not CLEVR's: objects earlier turns named, most recent first
        order = [int(v) for v in (side[0].split(",") if side and side[0] else []) if v.isdigit()]
        if any(i not in everything for i in order):
            raise ProgramError(f"node {index}: {name}: {side!r} names objects the scene lacks")
        if name == "mentioned":
            return frozenset(order)
        pool = _set(index, name, inputs[0])
        found = next((i for i in order if i in pool), None)
        if found is None:
            raise ProgramError(f"node {index}: latest: no object mentioned earlier fits")
        return found
    if name.startswith("filter_"):
        attribute = _attribute(index, name, name.removeprefix("filter_"), scene)
        if len(side) != 1:
            raise ProgramError(f"node {index}: {name} needs one value, found {side!r}")
        return frozenset(i for i in _set(index, name, inputs[0]) if objects[i][attribute] == side[0])
    if name == "unique":
        chosen = _set(index, name, inputs[0])
        if len(chosen) != 1:
            raise ProgramError(f"node {index}: unique: {len(chosen)} objects fit, not one")
        return next(iter(chosen))
    if name == "relate":
        if len(side) != 1 or side[0] not in scene.relationships:
            known = ", ".join(sorted(scene.relationships))
            raise ProgramError(f"node {index}: relate: unknown relation {side!r} (known: {known})")
        return frozenset(scene.relationships[side[0]][_one(index, name, inputs[0])])
    if name == "extreme":  # not CLEVR's, CLEVR-Dialog's: what stands so of every other thing
        if len(side) != 1 or side[0] not in scene.relationships:
            raise ProgramError(f"node {index}: extreme: unknown relation {side!r}")
        rows = scene.relationships[side[0]]
        return frozenset(
            i for i in _set(index, name, inputs[0]) if all(i in rows[j] for j in everything if j != i)
        )
    if name in ("union", "intersect"):
        a, b = (_set(index, name, v) for v in inputs[:2])
        return a | b if name == "union" else a & b
    if name == "count":
        return len(_set(index, name, inputs[0]))
    if name == "exist":
        return bool(_set(index, name, inputs[0]))
    if name == "verify":  # not CLEVR's: whether one object has each attr:value named
        me = _one(index, name, inputs[0])
        pairs = [v.partition(":") for v in side]
        if not pairs or any(not sep for _, sep, _ in pairs):
            raise ProgramError(f"node {index}: verify needs attribute:value pairs, found {side!r}")
        return all(objects[me][_attribute(index, name, a, scene)] == v for a, _, v in pairs)
    if name == "negate":  # not CLEVR's: the opposite of a yes/no
        if not isinstance(inputs[0], bool):
            raise ProgramError(f"node {index}: negate needs a yes/no, found {inputs[0]!r}")
        return not inputs[0]
    if name.startswith("query_"):
        attribute = _attribute(index, name, name.removeprefix("query_"), scene)
        return objects[_one(index, name, inputs[0])][attribute]
    if name.startswith("same_"):
        attribute = _attribute(index, name, name.removeprefix("same_"), scene)
        me = _one(index, name, inputs[0])
        return frozenset(i for i in everything if i != me and objects[i][attribute] == objects[me][attribute])
    if name in _COMPARE_INTEGER:
        a, b = inputs[:2]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
            raise ProgramError(f"node {index}: {name} needs two counts, found {a!r} and {b!r}")
        return a == b if name == "equal_integer" else (a < b if name == "less_than" else a > b)
    if name.startswith("equal_"):
        a, b = inputs[:2]
        return a == b
    raise ProgramError(f"node {index}: unknown function {quote(name)}")


def family_of(program: Sequence[Mapping[str, Any]]) -> str:
    """The question family of a program, by its structure (see :data:`CLEVR_FAMILIES`)."""
    names = [node_function(n) for n in program]
    if any(n in _COMPARE_INTEGER for n in names):
        return "compare integer"
    if any(n.startswith("equal_") for n in names):
        return "compare attribute"
    if any(n.startswith("same_") for n in names):
        return "same attribute"
    if "union" in names:
        return "or"
    if "intersect" in names:
        return "and"
    hops = _longest_chain(program)
    if hops:
        return ("one hop", "two hop", "three hop")[min(hops, 3) - 1]
    last = names[-1] if names else ""
    if last == "exist":
        return "exist"
    if last == "count":
        return "count"
    return "query attribute"


def _longest_chain(program: Sequence[Mapping[str, Any]]) -> int:
    depth: list[int] = []
    for node in program:
        below = max((depth[i] for i in node.get("inputs", []) if 0 <= i < len(depth)), default=0)
        depth.append(below + (node_function(node) == "relate"))
    return depth[-1] if depth else 0


# ------------------------------------------------------------------------------ files


def _load_json(path: str | Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such {what} file")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise InvalidInputError(f"{path}: over {MAX_JSON_BYTES:,} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path}: not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None


class _Check:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> InvalidInputError:
        return InvalidInputError(f"{self.path}: {key}: {message}")

    def typed(self, value: Any, kind: type | tuple[type, ...], key: str, what: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"expected {what}, found {quote(repr(value))}")
        return value

    def field(self, record: Any, name: str, kind: type | tuple[type, ...], key: str, what: str) -> Any:
        if not isinstance(record, dict):
            raise self.fail(key, f"expected an object, found {quote(repr(record))}")
        if name not in record:
            raise self.fail(f"{key}.{name}", "missing")
        return self.typed(record[name], kind, f"{key}.{name}", what)


def read_scenes(path: str | Path, attributes: Sequence[str]) -> list[TableScene]:
    """The scenes of a CLEVR ``scenes.json``, checked against CLEVR's scene schema.

    Each object must hold every name of ``attributes`` (a string) and ``3d_coords``
    (three numbers); ``relationships`` must give, per relation, one list of object
    indices per object.

    Raises:
        MissingFileError: no such file.
        InvalidInputError: not JSON, or not CLEVR's schema; the message names the file and key
            (``scenes[3].objects[1].color``).
    """
    path = Path(path)
    data = _load_json(path, "scenes")
    check = _Check(path)
    records = check.field(data, "scenes", list, "(top)", "a list of scenes")
    scenes = []
    for s, record in enumerate(records):
        key = f"scenes[{s}]"
        check.field(record, "image_index", int, key, "an integer")
        check.field(record, "image_filename", str, key, "a file name")
        objects = check.field(record, "objects", list, key, "a list of objects")
        for o, obj in enumerate(objects):
            where = f"{key}.objects[{o}]"
            for name in attributes:
                check.field(obj, name, str, where, "a string")
            coords = check.field(obj, "3d_coords", list, where, "three numbers")
            if len(coords) != 3 or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in coords
            ):
                raise check.fail(f"{where}.3d_coords", f"expected three numbers, found {quote(repr(coords))}")
        relations = record.get("relationships", {})
        check.typed(relations, dict, f"{key}.relationships", "an object of relation name → lists")
        for name, rows in relations.items():
            where = f"{key}.relationships.{name}"
            check.typed(rows, list, where, "one list per object")
            if len(rows) != len(objects):
                raise check.fail(where, f"expected {len(objects)} lists (one per object), found {len(rows)}")
            for i, row in enumerate(rows):
                check.typed(row, list, f"{where}[{i}]", "a list of object indices")
                for j in row:
                    if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < len(objects):
                        raise check.fail(f"{where}[{i}]", f"{quote(repr(j))} is not an object index")
        scenes.append(TableScene.from_clevr(record, attributes))
    return scenes


def read_questions(path: str | Path) -> list[Question]:
    """The questions of a CLEVR ``questions.json``, checked against CLEVR's question schema.

    Each question needs ``question`` (text) and ``image_index``; ``program`` (a list of
    nodes with ``type`` or ``function``, ``inputs``) and ``answer`` are read when present.

    Raises:
        MissingFileError: no such file.
        InvalidInputError: not JSON, or not CLEVR's schema; the message names the file and key.
    """
    path = Path(path)
    data = _load_json(path, "questions")
    check = _Check(path)
    records = check.field(data, "questions", list, "(top)", "a list of questions")
    questions = []
    for q, record in enumerate(records):
        key = f"questions[{q}]"
        text = check.field(record, "question", str, key, "the question's text")
        image_index = check.field(record, "image_index", int, key, "an integer")
        program = record.get("program", [])
        check.typed(program, list, f"{key}.program", "a list of nodes")
        for n, node in enumerate(program):
            where = f"{key}.program[{n}]"
            check.typed(node, dict, where, "a node")
            if not isinstance(node.get("type", node.get("function")), str):
                raise check.fail(where, "a node needs a function name ('type' or 'function')")
            inputs = check.field(node, "inputs", list, where, "a list of node indices")
            if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in inputs):
                raise check.fail(
                    f"{where}.inputs", f"expected indices of earlier nodes, found {quote(repr(inputs))}"
                )
        answer = record.get("answer")
        if answer is not None:
            answer = (
                answer_text(answer)
                if isinstance(answer, bool | int)
                else check.typed(answer, str, f"{key}.answer", "a string")
            )
        questions.append(
            Question(
                question=text,
                program=tuple(program),
                answer=answer,
                image_index=image_index,
                image_filename=str(record.get("image_filename", "")),
                family=str(record.get("family", "")) or (family_of(program) if program else ""),
                index=q,
            )
        )
    return questions


def answer_prior(questions: Sequence[Question]) -> dict[str, str]:
    """The most common answer per question type (the program's last function): CLEVR's
    "Q-type mode" baseline, which answers without looking."""
    by_type: dict[str, Counter[str]] = {}
    for q in questions:
        if q.answer is None or not q.program:
            continue
        by_type.setdefault(_question_type(q.program), Counter())[q.answer] += 1
    return {t: c.most_common(1)[0][0] for t, c in by_type.items()}


def _question_type(program: Sequence[Mapping[str, Any]]) -> str:
    return node_function(program[-1])
