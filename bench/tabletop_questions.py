"""A CLEVR-style question generator for scenes in CLEVR's ``scenes.json`` schema.

It stands apart from the system under test: it reads scene records directly,
writes each question's text from its own templates and CLEVR's synonyms
(ball/sphere, block/cube, shiny/metallic/metal, matte/rubber, tiny/small,
big/large, object/thing, colour/color), and computes each answer with its own
lookups on the scene, never with mmreason's parser or executor. Each question
also carries its program in CLEVR's list format (``type``, ``inputs``,
``side_inputs``) and its family, as CLEVR's generator records them.

Families follow CLEVR's template files: exist, count and query attribute with
no relation; one, two and three hops; and, or; same attribute; compare
attribute; compare integer. Descriptions are the fewest attributes that make
the object unique among its candidates, as CLEVR's generator prunes them.

>>> scene = {"image_index": 0, "image_filename": "a.png", "objects": [
...     {"shape": "cube", "color": "red", "material": "rubber", "size": "large"},
...     {"shape": "sphere", "color": "blue", "material": "metal", "size": "small"}],
...     "relationships": {"left": [[1], []], "right": [[], [0]], "front": [[], [0]], "behind": [[1], []]}}
>>> qs = generate(scene, per_scene=11, seed=0)
>>> [q["answer"] for q in qs if q["question"] == "Is the cube the same size as the sphere?"]
[]
>>> all(set(q) >= {"question", "answer", "program", "family", "image_index"} for q in qs)
True
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ATTRIBUTES = ("size", "color", "material", "shape")
VALUES = {
    "size": ("small", "large"),
    "color": ("gray", "red", "blue", "green", "brown", "purple", "cyan", "yellow"),
    "material": ("rubber", "metal"),
    "shape": ("cube", "sphere", "cylinder"),
}
SYNONYMS = {
    "sphere": ("sphere", "ball"),
    "cube": ("cube", "block"),
    "cylinder": ("cylinder",),
    "metal": ("metal", "metallic", "shiny"),
    "rubber": ("rubber", "matte"),
    "small": ("small", "tiny"),
    "large": ("large", "big"),
    "thing": ("thing", "object"),
    "color": ("color", "colour"),
}
RELATIONS = {
    "left": ("left of", "to the left of", "on the left side of"),
    "right": ("right of", "to the right of", "on the right side of"),
    "front": ("in front of",),
    "behind": ("behind",),
}
FAMILIES = (
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

Objects = Sequence[Mapping[str, Any]]


class _Program:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []

    def add(self, kind: str, inputs: list[int], side: str | None = None) -> int:
        node: dict[str, Any] = {"type": kind, "inputs": inputs}
        if side is not None:
            node["side_inputs"] = [side]
        self.nodes.append(node)
        return len(self.nodes) - 1


class _Writer:
    """Words and programs for one scene."""

    def __init__(self, scene: Mapping[str, Any], rng: random.Random) -> None:
        self.objects: Objects = scene["objects"]
        self.rel = scene["relationships"]
        self.rng = rng

    def word(self, value: str) -> str:
        return self.rng.choice(SYNONYMS.get(value, (value,)))

    def plural(self, noun: str) -> str:
        return noun + "s"

    # ------------------------------------------------------------ descriptions

    def matches(self, pool: Sequence[int], filters: Mapping[str, str]) -> list[int]:
        return [i for i in pool if all(self.objects[i][a] == v for a, v in filters.items())]

    def unique_filters(self, target: int, pool: Sequence[int]) -> dict[str, str] | None:
        """The fewest attributes of ``target`` that single it out of ``pool`` (random among ties)."""
        obj = self.objects[target]
        subsets = [()]
        for attribute in ATTRIBUTES:
            subsets += [(*s, attribute) for s in subsets]
        self.rng.shuffle(subsets)
        subsets.sort(key=len)
        for subset in subsets:
            filters = {a: obj[a] for a in subset}
            if self.matches(pool, filters) == [target]:
                return filters
        return None

    def random_filters(self, most: int = 2) -> dict[str, str]:
        chosen = self.rng.sample(ATTRIBUTES, self.rng.randint(1, most))
        if self.rng.random() < 0.6:  # describe something the scene holds, half the time at least
            obj = self.rng.choice(self.objects)
            return {a: obj[a] for a in chosen}
        return {a: self.rng.choice(VALUES[a]) for a in chosen}

    def phrase(self, filters: Mapping[str, str], *, plural: bool = False) -> str:
        words = [self.word(filters[a]) for a in ("size", "color", "material") if a in filters]
        noun = self.word(filters.get("shape", "thing"))
        words.append(self.plural(noun) if plural else noun)
        return " ".join(words)

    def filter_nodes(self, program: _Program, start: int, filters: Mapping[str, str]) -> int:
        node = start
        for attribute in ATTRIBUTES:
            if attribute in filters:
                node = program.add(f"filter_{attribute}", [node], filters[attribute])
        return node

    # --------------------------------------------------------------- chains

    def chain(self, hops: int) -> tuple[str, int, list[int], _Program] | None:
        """An anchor and ``hops`` relations: (text "the X that is left of the Y ...", last node,
        the set the last relation gives, program). The text's head is the last relation's set."""
        pool = list(range(len(self.objects)))
        anchor = self.rng.choice(pool)
        filters = self.unique_filters(anchor, pool)
        if filters is None:
            return None
        program = _Program()
        node = self.unique_node(program, program.add("scene", []), filters)
        text = f"the {self.phrase(filters)}"
        current = anchor
        for hop in range(hops):
            relation = self.rng.choice(tuple(RELATIONS))
            related = list(self.rel[relation][current])
            node = program.add("relate", [node], relation)
            text_rel = self.rng.choice(RELATIONS[relation])
            if hop == hops - 1:
                return f"{text_rel} {text}", node, related, program
            if not related:
                return None
            current = self.rng.choice(related)
            inner = self.unique_filters(current, related)
            if inner is None:
                return None
            node = self.unique_node(program, node, inner)
            text = (
                f"the {self.phrase(inner)} {self.rng.choice(('that is ', 'which is ', ''))}{text_rel} {text}"
            )
        return None

    def unique_node(self, program: _Program, start: int, filters: Mapping[str, str]) -> int:
        return program.add("unique", [self.filter_nodes(program, start, filters)])

    # -------------------------------------------------------------- families

    def ask(self, family: str) -> dict[str, Any] | None:
        return getattr(self, "_" + family.replace(" ", "_"))()

    def _exist(self) -> dict[str, Any] | None:
        filters = self.random_filters(3)
        program = _Program()
        self.filter_nodes(program, program.add("scene", []), filters)
        program.add("exist", [len(program.nodes) - 1])
        answer = bool(self.matches(range(len(self.objects)), filters))
        text = self.rng.choice(
            (f"Are there any {self.phrase(filters, plural=True)}?", f"Is there a {self.phrase(filters)}?")
        )
        return _q(text, answer, program)

    def _count(self) -> dict[str, Any] | None:
        filters = self.random_filters(3)
        program = _Program()
        self.filter_nodes(program, program.add("scene", []), filters)
        program.add("count", [len(program.nodes) - 1])
        answer = len(self.matches(range(len(self.objects)), filters))
        phrase = self.phrase(filters, plural=True)
        text = self.rng.choice((f"How many {phrase} are there?", f"What number of {phrase} are there?"))
        return _q(text, answer, program)

    def _query_attribute(self) -> dict[str, Any] | None:
        pool = list(range(len(self.objects)))
        target = self.rng.choice(pool)
        filters = self.unique_filters(target, pool)
        if filters is None:
            return None
        asked = self.rng.choice([a for a in ATTRIBUTES if a not in filters] or list(ATTRIBUTES))
        program = _Program()
        node = self.unique_node(program, program.add("scene", []), filters)
        program.add(f"query_{asked}", [node])
        return _q(self.query_text(asked, f"the {self.phrase(filters)}"), self.objects[target][asked], program)

    def query_text(self, asked: str, np: str) -> str:
        if asked == "material":
            forms = (f"What is {np} made of?", f"What material is {np}?", f"What is the material of {np}?")
        elif asked == "size":
            forms = (f"How big is {np}?", f"What size is {np}?", f"What is the size of {np}?")
        else:
            word = self.word(asked)
            forms = (
                f"What {word} is {np}?",
                f"What is the {word} of {np}?",
                f"{np[0].upper()}{np[1:]} has what {word}?",
            )
        return self.rng.choice(forms)

    def _hops(self, hops: int) -> dict[str, Any] | None:
        found = self.chain(hops)
        if found is None:
            return None
        text, node, related, program = found
        kind = self.rng.choice(("query", "count", "exist"))
        if kind == "query":
            if not related:
                return None
            target = self.rng.choice(related)
            filters = self.unique_filters(target, related)
            if filters is None:
                return None
            asked = self.rng.choice([a for a in ATTRIBUTES if a not in filters] or list(ATTRIBUTES))
            node = self.unique_node(program, node, filters)
            program.add(f"query_{asked}", [node])
            np = f"the {self.phrase(filters)} {self.rng.choice(('that is ', ''))}{text}"
            return _q(self.query_text(asked, np), self.objects[target][asked], program)
        filters = self.random_filters(2)
        node = self.filter_nodes(program, node, filters)
        program.add(kind, [node])
        matching = self.matches(related, filters)
        phrase = self.phrase(filters, plural=True)
        if kind == "count":
            return _q(f"How many {phrase} are {text}?", len(matching), program)
        return _q(f"Are there any {phrase} {text}?", bool(matching), program)

    def _one_hop(self) -> dict[str, Any] | None:
        return self._hops(1)

    def _two_hop(self) -> dict[str, Any] | None:
        return self._hops(2)

    def _three_hop(self) -> dict[str, Any] | None:
        return self._hops(3)

    def _and(self) -> dict[str, Any] | None:
        first, second = self.chain(1), self.chain(1)
        if first is None or second is None:
            return None
        program = _Program()
        offset = len(first[3].nodes)
        program.nodes = first[3].nodes + [
            {**n, "inputs": [i + offset for i in n["inputs"]]} for n in second[3].nodes
        ]
        both = program.add("intersect", [first[1], second[1] + offset])
        filters = self.random_filters(1) if self.rng.random() < 0.5 else {}
        program.add("count", [self.filter_nodes(program, both, filters)])
        answer = len(self.matches(sorted(set(first[2]) & set(second[2])), filters))
        phrase = self.phrase(filters, plural=True)
        return _q(f"How many {phrase} are both {first[0]} and {second[0]}?", answer, program)

    def _or(self) -> dict[str, Any] | None:
        a, b = self.random_filters(2), self.random_filters(2)
        program = _Program()
        left = self.filter_nodes(program, program.add("scene", []), a)
        right = self.filter_nodes(program, program.add("scene", []), b)
        program.add("count", [program.add("union", [left, right])])
        every = range(len(self.objects))
        answer = len(set(self.matches(every, a)) | set(self.matches(every, b)))
        thing = self.plural(self.word("thing"))
        text = (
            f"How many {thing} are {self.rng.choice(('either ', ''))}"
            f"{self.phrase(a, plural=True)} or {self.phrase(b, plural=True)}?"
        )
        return _q(text, answer, program)

    def _same_attribute(self) -> dict[str, Any] | None:
        pool = list(range(len(self.objects)))
        target = self.rng.choice(pool)
        filters = self.unique_filters(target, pool)
        if filters is None:
            return None
        attribute = self.rng.choice([a for a in ATTRIBUTES if a not in filters and a != "shape"] or ["color"])
        program = _Program()
        node = self.unique_node(program, program.add("scene", []), filters)
        same = program.add(f"same_{attribute}", [node])
        others = [
            i for i in pool if i != target and self.objects[i][attribute] == self.objects[target][attribute]
        ]
        word = self.word(attribute) if attribute == "color" else attribute
        np = f"the {self.phrase(filters)}"
        if self.rng.random() < 0.5:
            program.add("count", [same])
            thing = self.plural(self.word("thing"))
            return _q(f"How many other {thing} are the same {word} as {np}?", len(others), program)
        program.add("exist", [same])
        return _q(f"Is there anything else that is the same {word} as {np}?", bool(others), program)

    def _compare_attribute(self) -> dict[str, Any] | None:
        pool = list(range(len(self.objects)))
        if len(pool) < 2:
            return None
        a, b = self.rng.sample(pool, 2)
        fa, fb = self.unique_filters(a, pool), self.unique_filters(b, pool)
        if fa is None or fb is None:
            return None
        attribute = self.rng.choice(ATTRIBUTES)
        program = _Program()
        qa = program.add(f"query_{attribute}", [self.unique_node(program, program.add("scene", []), fa)])
        qb = program.add(f"query_{attribute}", [self.unique_node(program, program.add("scene", []), fb)])
        program.add(f"equal_{attribute}", [qa, qb])
        answer = self.objects[a][attribute] == self.objects[b][attribute]
        na, nb = f"the {self.phrase(fa)}", f"the {self.phrase(fb)}"
        if attribute == "material":
            forms = (
                f"Is {na} made of the same material as {nb}?",
                f"Are {na} and {nb} made of the same material?",
            )
        else:
            word = self.word(attribute) if attribute == "color" else attribute
            forms = (
                f"Is {na} the same {word} as {nb}?",
                f"Does {na} have the same {word} as {nb}?",
                f"Are {na} and {nb} the same {word}?",
            )
        return _q(self.rng.choice(forms), answer, program)

    def _compare_integer(self) -> dict[str, Any] | None:
        a, b = self.random_filters(2), self.random_filters(2)
        if a == b:
            return None
        every = range(len(self.objects))
        na, nb = len(self.matches(every, a)), len(self.matches(every, b))
        op = self.rng.choice(("greater_than", "less_than", "equal_integer"))
        program = _Program()
        ca = program.add("count", [self.filter_nodes(program, program.add("scene", []), a)])
        cb = program.add("count", [self.filter_nodes(program, program.add("scene", []), b)])
        program.add(op, [ca, cb])
        pa, pb = self.phrase(a, plural=True), self.phrase(b, plural=True)
        if op == "greater_than":
            text, answer = f"Are there more {pa} than {pb}?", na > nb
        elif op == "less_than":
            text, answer = (
                self.rng.choice((f"Are there fewer {pa} than {pb}?", f"Are there less {pa} than {pb}?")),
                na < nb,
            )
        else:
            text = self.rng.choice(
                (
                    f"Are there an equal number of {pa} and {pb}?",
                    f"Is the number of {pa} the same as the number of {pb}?",
                )
            )
            answer = na == nb
        return _q(text, answer, program)


def _q(text: str, answer: Any, program: _Program) -> dict[str, Any]:
    if isinstance(answer, bool):
        answer = "yes" if answer else "no"
    return {"question": text, "answer": str(answer), "program": program.nodes}


def generate(scene: Mapping[str, Any], *, per_scene: int = 11, seed: int = 0) -> list[dict[str, Any]]:
    """About ``per_scene`` questions on one scene record, cycling through the families."""
    rng = random.Random(f"{seed}:{scene['image_index']}")
    writer = _Writer(scene, rng)
    out: list[dict[str, Any]] = []
    start = rng.randrange(len(FAMILIES))
    for k in range(per_scene):
        family = FAMILIES[(start + k) % len(FAMILIES)]
        for _ in range(20):  # a family may not fit a scene on a given draw: draw again
            question = writer.ask(family)
            if question is not None:
                question.update(
                    family=family,
                    image_index=scene["image_index"],
                    image_filename=scene["image_filename"],
                )
                out.append(question)
                break
    return out


def write_questions(scenes_json: str | Path, out: str | Path, *, per_scene: int = 11, seed: int = 0) -> Path:
    """Questions on every scene of ``scenes_json``, written as CLEVR's ``questions.json``."""
    scenes = json.loads(Path(scenes_json).read_text(encoding="utf-8"))["scenes"]
    questions = [q for scene in scenes for q in generate(scene, per_scene=per_scene, seed=seed)]
    for index, q in enumerate(questions):
        q["question_index"] = index
    out = Path(out)
    out.write_text(
        json.dumps(
            {"info": {"generator": "bench/tabletop_questions.py", "seed": seed}, "questions": questions}
        )
        + "\n",
        encoding="utf-8",
    )
    return out
