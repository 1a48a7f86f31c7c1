"""Conversations: questions about one image in turns, with a dialogue state (docs/dialogue.md).

A turn is read as written unless it refers to earlier turns. The state keeps what a follow-up may
refer to: the objects the last answer was about ("it", "that one", "them"), the class and the
attribute last asked about ("what about the tomato?", "and colour?"), and the causal target and the
interventions in force ("and if it had been raining?" adds an intervention to those of the last
causal question; "why?" explains the last causal answer). A reference that could mean more than
one object is refused with the candidates named, never silently picked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mmreason.answer import Answer, Step
from mmreason.errors import InvalidInputError, QuestionNotUnderstoodError
from mmreason.limits import quote
from mmreason.qa.program import Op, Program

if TYPE_CHECKING:
    from mmreason.reasoner import Reasoner

__all__ = ["ASK_BACK", "Conversation", "DialogueState"]

#: A reading the parser gives less probability than this is not answered; the answer asks back.
ASK_BACK = 0.5
#: A statement's object, where the picture's most probable reading has no single one that fits,
#: is the best fit only if its readings give it at least this probability of fitting.
MIN_FIT = 0.05

# Words that stand for what an earlier turn was about. "it" may also be the weather's "it"
# ("is it raining?"): a turn is read both ways and the reading about an object is taken only
# where the other reading is about the scene as a whole.
_SINGULAR = r"it|that one|this one|the one|that|this"
_PLURAL = r"they|them|those|these"
_PRONOUN = re.compile(rf"\b(?:{_SINGULAR}|{_PLURAL}|its|their)\b")
_WHY = re.compile(r"^(?:and |but |so )?why(?: (?:is|was) that| so)?$")
_AND_IF = re.compile(r"^(?:and |but |so )?(?:what |and what )?(?:if|had) (?P<cond>.+)$")
_ABOUT = re.compile(r"^(?:and |but )?(?:what|how) about (?P<rest>.+)$|^and (?P<rest2>(?!if\b).+)$")


@dataclass
class DialogueState:
    """What a follow-up may refer to, after the turns so far.

    ``referents`` are the ids of the objects the last object answer was about; ``subject`` and
    ``attribute`` the class and property IRIs it asked of; ``target`` the (variable, value) of
    the last causal question and ``interventions`` its ``do``; ``program`` the last program;
    ``mentions`` every object answer's objects, by turn; ``told`` the attributes statements gave
    objects (they override what the picture was read as).
    """

    referents: tuple[str, ...] = ()
    subject: str | None = None
    attribute: str | None = None
    target: tuple[str, str] | None = None
    interventions: dict[str, str] = field(default_factory=dict)
    #: Real variables shifted from the picture's value ("5 m/s slower": ``{"Speed": -5.0}``).
    shifts: dict[str, float] = field(default_factory=dict)
    #: The interventions in force before the last "and if ...": what "why?" contrasts with.
    baseline: dict[str, str] = field(default_factory=dict)
    program: Program | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    #: What statements said of objects, taken as true: ``{object id: {attribute name: value}}``.
    told: dict[str, dict[str, str]] = field(default_factory=dict)
    #: How sure it is that "it" is the object meant (below 1 when a statement's object was the
    #: best fit rather than the one object the picture's reading has).
    referent_p: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "referents": list(self.referents),
            "subject": self.subject,
            "attribute": self.attribute,
            "target": None if self.target is None else list(self.target),
            "interventions": dict(self.interventions),
            "shifts": dict(self.shifts),
            "baseline": dict(self.baseline),
            "program": None if self.program is None else _program_to_dict(self.program),
            "mentions": [dict(m) for m in self.mentions],
            "told": {k: dict(v) for k, v in self.told.items()},
            "referent_p": self.referent_p,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DialogueState:
        try:
            target = data.get("target")
            program = data.get("program")
            return cls(
                referents=tuple(str(r) for r in data.get("referents", ())),
                subject=data.get("subject"),
                attribute=data.get("attribute"),
                target=None if target is None else (str(target[0]), str(target[1])),
                interventions={str(k): str(v) for k, v in dict(data.get("interventions", {})).items()},
                shifts={str(k): float(v) for k, v in dict(data.get("shifts", {})).items()},
                baseline={str(k): str(v) for k, v in dict(data.get("baseline", {})).items()},
                program=None if program is None else _program_from_dict(program),
                mentions=[dict(m) for m in data.get("mentions", ())],
                told={
                    str(k): {str(a): str(v) for a, v in dict(values).items()}
                    for k, values in dict(data.get("told", {})).items()
                },
                referent_p=float(data.get("referent_p", 1.0)),
            )
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise InvalidInputError(f"a saved conversation's state is malformed: {exc}") from None


@dataclass
class Conversation:
    """Questions about one image (or none), in turns that may refer to earlier ones."""

    reasoner: Reasoner
    image: Any
    turns: list[Answer] = field(default_factory=list)
    state: DialogueState = field(default_factory=DialogueState)
    #: A scene graph to answer from instead of grounding ``image`` (a true scene, a corrected one).
    scene: Any = None

    def ask(self, question: str) -> Answer:
        with self.reasoner._lock:
            return self._ask(question)

    # ------------------------------------------------------------------ saving

    def to_json(self, *, indent: int | None = 2) -> str:
        """The turns and the dialogue state as JSON; :meth:`from_json` resumes the conversation."""
        from pathlib import Path

        image = str(self.image) if isinstance(self.image, (str, Path)) else None
        data = {
            "image": image,
            "turns": [answer.to_dict() for answer in self.turns],
            "state": self.state.to_dict(),
        }
        return json.dumps(data, indent=indent)

    @classmethod
    def from_json(cls, reasoner: Reasoner, text: str, *, image: Any = None) -> Conversation:
        """Resume a conversation saved by :meth:`to_json` (``image``: the picture, when it was not a path)."""
        try:
            data = json.loads(text)
            turns = [_answer_from_dict(t) for t in data.get("turns", ())]
            state = DialogueState.from_dict(data.get("state", {}))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"a saved conversation is not JSON: {exc}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise InvalidInputError(f"a saved conversation is malformed: {exc}") from None
        if image is None:
            image = data.get("image")
        return cls(reasoner, image, turns, state)

    # ------------------------------------------------------------------ turns

    def _ask(self, question: str) -> Answer:
        reasoner = self.reasoner
        steps: list[Step] = []
        scene = self._scene()
        if scene is not None:
            from mmreason.reasoner import _ground_step

            steps.append(_ground_step(scene))
        self._next_baseline: dict[str, str] = {}
        composed = self._compose(question, scene, steps)
        if composed is not None:
            self.turns.append(composed)
            return composed
        program, how, referents = self._read(question)
        steps.append(Step("parse", f"{program!r}" + (f" ({how})" if how else ""), program.confidence))
        if program.confidence < ASK_BACK:
            answer = self._ask_back(question, program, steps)
            self.turns.append(answer)
            return answer
        answer = reasoner.executor.run(program, scene, steps=steps, referents=referents)
        self._remember(program, answer, scene)
        self.turns.append(answer)
        return answer

    def tell(self, statement: str) -> Answer:
        """Take a statement that introduces an object ("There is a small red thing."): from now on
        "it" is that object. The answer's value is the object's id (None when no single object
        fits, and its text says why).

        Raises:
            InvalidInputError: the world has no compositional grammar, or it does not read the statement.
        """
        with self.reasoner._lock:
            return self._tell(statement)

    def _tell(self, statement: str) -> Answer:
        from mmreason.qa.clevr import ProgramError, run_nodes
        from mmreason.qa.scene_programs import describe_program, table_scene

        scene = self._scene()
        world = self.reasoner.world
        if world is None or world.questions is None or scene is None:
            raise InvalidInputError(
                "statements are read in a world with a [questions] table, about a picture"
            )
        program = self.reasoner.compositional.parse_statement(statement, it=self._it(scene))
        if program is None:
            raise InvalidInputError(
                f"not understood as a statement that introduces one object: {statement!r} "
                "(e.g. 'There is a small red thing.')"
            )
        steps = [Step("parse", f"CLEVR program: {describe_program(program)}", 1.0)]
        try:
            chosen, p = run_nodes(program, table_scene(scene, world))[-1], 1.0
        except ProgramError as exc:
            fit = _best_fit(program, scene, world)
            if fit is None:
                answer = Answer(statement, None, 0.0, tuple(steps), text=f"no single object fits: {exc}")
                self.turns.append(answer)
                return answer
            chosen, p, listed = fit
            # The statement is taken as true: the object it fits best, as the picture was read.
            why = f"as read, {exc}; the best fit by the readings' probabilities: {listed}"
            steps.append(Step("scene", f"told: {why}", p))
        obj = scene.objects[chosen]
        said = _filters(program)
        self.state.told[obj.id] = {**self.state.told.get(obj.id, {}), **said}
        if said:
            what = ", ".join(said.values())
            steps.append(Step("scene", f"told: {obj.id} is {what} (as the statement says)", p))
        self._refer_to(obj.type.concept.iri, (obj.id,))
        self.state.referent_p = p
        answer = Answer(statement, obj.id, p, tuple(steps), text=f"noted: {obj.id}", about=(obj.id,))
        self.turns.append(answer)
        return answer

    def _it(self, scene: Any) -> int | None:
        """The index in ``scene`` of the one object "it" refers to, if there is one."""
        ids = [o.id for o in scene.objects]
        if len(self.state.referents) == 1 and self.state.referents[0] in ids:
            return ids.index(self.state.referents[0])
        return None

    def _compose(self, question: Any, scene: Any, steps: list[Step]) -> Answer | None:
        """A compositional (CLEVR-style) question, in a world with a ``[questions]`` table; None
        when the world has none or its grammar does not read the question."""
        world = self.reasoner.world
        if world is None or world.questions is None or scene is None or not isinstance(question, str):
            return None
        from mmreason.qa.clevr import node_function
        from mmreason.qa.scene_programs import answer_program

        names = {iri: name for name, iri in world.questions.attributes.items()}
        program = self.reasoner.compositional.parse(
            question,
            it=self._it(scene),
            attribute=names.get(self.state.attribute or ""),
            mentioned=self._mentioned(scene),
        )
        if program is None:
            return None
        answer = answer_program(question, program, scene, world, steps=steps)
        if self.state.referent_p < 1.0 and any(node_function(n) == "refer" for n in program):
            # "it" is the best fit to a statement, not the one object that fits it: no surer than that.
            p = self.state.referent_p
            step = Step("scene", f"'it' is {self.state.referents[0]} with p={p:.2f} (the best fit)", p)
            answer = replace(answer, confidence=answer.confidence * p, steps=(*answer.steps, step))
        last = node_function(program[-1])
        if last.startswith("query_"):
            self.state.attribute = world.questions.attributes.get(last.removeprefix("query_"))
        if answer.about:
            cls = _object_class(scene, answer.about)
            if cls is not None:
                self._refer_to(cls, answer.about)
        return answer

    def _mentioned(self, scene: Any) -> list[int]:
        """Indices in ``scene`` of the objects earlier turns named, most recent first, "it" left out."""
        ids = [o.id for o in scene.objects]
        out: list[int] = []
        for mention in reversed(self.state.mentions):
            for object_id in mention.get("ids", ()):
                if object_id in ids and ids.index(object_id) not in out:
                    out.append(ids.index(object_id))
        current = self._it(scene)
        return [i for i in out if i != current]

    def _ask_back(self, question: str, program: Program, steps: list[Step]) -> Answer:
        """A reading the parser is unsure of is not answered: the answer asks which was meant."""
        suggestions = self.reasoner.parser.suggestions(question)
        text = (
            f"not sure what is asked (read as {program!r}, p={program.confidence:.2f}); "
            "did you mean: " + " or ".join(repr(s) for s in suggestions) + "?"
        )
        return Answer(question, None, program.confidence, tuple(steps), text=text, family=program.family)

    def _scene(self) -> Any:
        scene = self.scene
        if scene is None and self.image is not None:
            scene = self.reasoner.ground(self.image)
        if scene is None or not self.state.told or self.reasoner.world is None:
            return scene
        return _with_told(scene, self.state.told, self.reasoner.world)

    def _read(self, question: str) -> tuple[Program, str, tuple[str, ...]]:
        """The program a turn asks for, how earlier turns were used, and the objects it refers to."""
        parser = self.reasoner.parser
        if not isinstance(question, str):
            return parser.parse(question), "", ()
        from mmreason.qa.parser import normalize

        text = normalize(question)
        if _WHY.match(text):
            return self._why(question), "explains the last causal answer", ()
        if (m := _AND_IF.match(text)) and " would " not in f" {text} " and self._causal_head() is not None:
            program = self._and_if(question, m["cond"])
            self._next_baseline = dict(self.state.interventions)
            return program, "carries the interventions forward", ()
        if (m := _ABOUT.match(text)) and self.state.program is not None:
            rest = m["rest"] or m["rest2"]
            found = self._about(question, rest)
            if found is not None:
                # Another attribute of the same subject keeps the same objects ("and its colour?").
                same = found.ops[0].args.get("cls") == self.state.subject
                referents = self.state.referents if same else ()
                return found, "the last question, about " + repr(rest), referents
        if _PRONOUN.search(text) and self.state.subject is not None:
            # "is it the red one?": whether what "it" is has that description.
            text = re.sub(
                rf"^(is|are) ({_SINGULAR}|{_PLURAL})( not)? the (?P<d>[a-z ]+?) ones?$",
                r"\1 \2\3 \g<d>",
                text,
            )
            return self._with_reference(question, text)
        return parser.parse(question), "", ()

    # -------------------------------------------------------- follow-up forms

    def _causal_head(self) -> Op | None:
        program = self.state.program
        if program is None or program.ops[0].name not in ("counterfactual", "do", "observe"):
            return None
        return program.ops[0]

    def _why(self, question: str) -> Program:
        head = self._causal_head()
        if head is None or self.state.target is None or not self.turns:
            raise _not_understood(question, "'why?' explains an earlier yes/no answer of the causal model")
        variable, value = self.state.target
        last = self.turns[-1].value
        if last is False:
            domain = self.reasoner.scm.domain(variable) if self.reasoner.scm is not None else None
            others = [str(v) for v in (domain or ()) if str(v) != value]
            if len(others) != 1:
                raise _not_understood(question, f"the last answer was 'no' about {variable}={value}")
            value = others[0]
        if head.name == "counterfactual":
            # A counterfactual outcome is explained by the contrast its interventions make.
            do, base = dict(head.args["do"]), dict(self.state.baseline)
            shift = {"shift": dict(head.args["shift"])} if head.args.get("shift") else {}
            ops = (Op.of("explain", variable=variable, value=value, do=do, base=base, **shift),)
        else:
            ops = (Op.of("explain", variable=variable, value=value),)
        return Program("explanation", question, ops, ())

    def _and_if(self, question: str, cond: str) -> Program:
        head = self._causal_head()
        assert head is not None and self.state.program is not None
        parser = self.reasoner.parser
        do = dict(self.state.interventions)
        shift = dict(self.state.shifts)
        matches = []
        for part in re.split(r",? and ", cond):
            quantity = parser.quantity(part)
            if quantity is not None:
                # "and if it had been going 5 m/s slower": a real variable set or shifted.
                match, how, amount = quantity
                variable = match.concept.key
                if how == "shift":
                    shift[variable] = amount
                    do.pop(variable, None)
                else:
                    do[variable] = str(amount)
                    shift.pop(variable, None)
            else:
                match = parser._state(question, part)
                variable, value = match.concept.key.split("=", 1)
                do[variable] = value
            matches.append(match)
        resolved = self.state.program.resolved + tuple(
            (m.phrase, m.concept.key, round(m.score, 4), round(m.p, 4)) for m in matches
        )
        if head.name == "do":
            op = Op.of("do", target=head.args["target"], do=do)
            return Program("intervention", question, (op,), resolved)
        assert self.state.target is not None
        target, value = self.state.target
        extra = {"shift": shift} if shift else {}
        op = Op.of("counterfactual", target=target, value=value, do=do, **extra)
        return Program("counterfactual", question, (op,), resolved)

    def _about(self, question: str, rest: str) -> Program | None:
        """ "What about the tomato?", "and colour?": the last question with its subject or its
        attribute replaced."""
        parser = self.reasoner.parser
        schema = parser.lexicon.schema
        last = self.state.program
        assert last is not None
        head, final = last.ops[0], last.ops[-1]
        if head.name != "select" or final.name not in ("query", "count", "exist", "verify", "closest"):
            return None
        words = re.sub(r"^(?:the|its|their) ", "", rest)
        candidates: list[tuple[float, Program]] = []
        # Another attribute of the same subject.
        if final.name == "query":
            applicable = schema.applicable(head.args["cls"])
            try:
                prop = parser._property(question, words, applicable)
            except QuestionNotUnderstoodError:
                prop = None
            if prop is not None:
                ops = (*last.ops[:-1], Op.of("query", prop=prop.concept.key))
                resolved = (*_without(last.resolved, final.args["prop"]), _slot(prop))
                candidates.append((prop.score, Program(last.family, question, ops, resolved)))
        # The same question of another subject.
        if head.args["cls"] != _scene_class():
            try:
                ops, matches = parser._selection(question, rest)
            except QuestionNotUnderstoodError:
                ops, matches = [], []
            if matches:
                cls = matches[0].concept.key
                if final.name in ("query", "verify") and final.args.get("prop") not in schema.applicable(cls):
                    pass  # the new subject has no such attribute: not this reading
                else:
                    kept = [op for op in last.ops[1:] if op.name not in ("filter",)]
                    resolved = (*(_slot(m) for m in matches), *last.resolved[1:])
                    program = Program(last.family, question, (*ops, *kept), resolved)
                    candidates.append((matches[0].score, program))
        if not candidates and final.name == "query":
            # "What is the weather like?" / "And the light?": what the light is like, when the
            # light has one attribute of its own.
            program = parser._what_thing_is_like(question, rest)
            if program is not None:
                candidates.append((program.resolved[-1][2], program))
        if not candidates:
            return None
        return max(candidates, key=lambda c: c[0])[1]

    def _with_reference(self, question: str, text: str) -> tuple[Program, str, tuple[str, ...]]:
        """A turn with "it", "that one", "them": about the objects of the last object answer,
        unless it reads better as written (the weather's "it")."""
        parser = self.reasoner.parser
        state = self.state
        assert state.subject is not None
        label = self.reasoner.executor.label(state.subject)
        try:
            written: Program | None = parser.parse(text)
        except QuestionNotUnderstoodError:
            written = None
        if written is not None:
            written = Program(written.family, question, written.ops, written.resolved)
        # A reading about the scene as a whole, or a state of the causal model ("is it yellow?" as
        # "the light is yellow"), gives way to a reading about the referent when there is one.
        if written is not None and not _about_the_scene(written) and written.family != "observation":
            return written, "", ()
        rewritten_text = _replace_references(text, label)
        try:
            rewritten = parser.parse(rewritten_text)
        except QuestionNotUnderstoodError:
            if written is not None:
                return written, "", ()
            raise
        if rewritten.ops[0].name != "select" or rewritten.ops[0].args.get("cls") == _scene_class():
            if written is not None:
                return written, "", ()
            return rewritten, f"read as {rewritten_text!r}", ()
        singular = re.search(rf"\b(?:{_SINGULAR}|its)\b", text) is not None
        if singular and len(state.referents) > 1:
            names = ", ".join(state.referents)
            raise _not_understood(
                question,
                f"'it' could be any of {len(state.referents)} objects of the last answer ({names}); "
                "say which one",
            )
        program = Program(rewritten.family, question, rewritten.ops, rewritten.resolved)
        how = f"read as {rewritten_text!r}, about {', '.join(state.referents) or 'the ' + label}"
        return program, how, state.referents

    # ------------------------------------------------------------------ memory

    def _refer_to(self, cls: str, ids: tuple[str, ...]) -> None:
        """From now on "it" is the objects ``ids``, of class ``cls``."""
        if ids != self.state.referents:
            self.state.referent_p = 1.0
        self.state.subject, self.state.referents = cls, ids
        if ids:
            self.state.mentions.append({"turn": len(self.turns), "class": cls, "ids": list(ids)})

    def _remember(self, program: Program, answer: Answer, scene: Any) -> None:
        state = self.state
        head, final = program.ops[0], program.ops[-1]
        executor = self.reasoner.executor
        if (
            head.name == "select"
            and head.args.get("cls") != _scene_class()
            and executor._countable(head.args["cls"])
        ):
            self._refer_to(head.args["cls"], answer.about)
            if final.name in ("query", "verify") and final.args.get("prop"):
                state.attribute = final.args["prop"]
        elif head.name in ("counterfactual", "observe", "do"):
            if head.name != "do":
                state.target = (head.args["target"], str(head.args["value"]))
                state.shifts = dict(head.args.get("shift", {}))
            state.baseline = self._next_baseline
            state.interventions = dict(head.args.get("do", {}))
            # After a causal answer, "it" is the object its evidence was read from (the world's focus).
            cls = _object_class(scene, answer.about)
            if cls is not None:
                self._refer_to(cls, answer.about)
        if head.name != "explain":
            state.program = program


def _filters(program: list[dict[str, Any]]) -> dict[str, str]:
    """The attributes a statement's program gives its object: ``{"colour": "red", "size": "large"}``."""
    from mmreason.qa.clevr import _side, node_function

    out = {}
    for node in program:
        name, values = node_function(node), _side(node)
        if name.startswith("filter_") and len(values) == 1:
            out[name.removeprefix("filter_")] = values[0]
    return out


def _best_fit(program: list[dict[str, Any]], scene: Any, world: Any) -> tuple[int, float, str] | None:
    """The object a statement made only of attribute filters most probably describes, when the
    picture's most probable reading has no single one: (index, probability, the candidates).

    With q_k the probability that object k has every stated attribute (by its readers'
    distributions), the statement that exactly one object fits gives object k the posterior
    q_k·Π_{j≠k}(1 − q_j), normalised. None unless one object has more than half of it and a
    q_k of at least :data:`MIN_FIT` (the readers' far tails say nothing).
    """
    from mmreason.qa.clevr import node_function
    from mmreason.qa.scene_programs import _attribute_tables

    functions = [node_function(n) for n in program]
    if functions[0] != "scene" or functions[-1] != "unique" or not all(
        f.startswith("filter_") for f in functions[1:-1]
    ):
        return None
    said = _filters(program)
    tables = _attribute_tables(scene, world)
    q = []
    for table in tables:
        p = 1.0
        for name, value in said.items():
            p *= sum(prob for label, prob in table.get(name, ()) if label == value)
        q.append(min(p, 1.0 - 1e-9))
    odds = [p / (1.0 - p) for p in q]
    total = sum(odds)
    if total <= 0.0:
        return None
    posterior = [o / total for o in odds]
    best = max(range(len(posterior)), key=posterior.__getitem__)
    if posterior[best] <= 0.5 or q[best] < MIN_FIT:
        return None
    ranked = sorted(range(len(posterior)), key=lambda i: -posterior[i])[:3]
    listed = ", ".join(f"{scene.objects[i].id} {posterior[i]:.2f}" for i in ranked)
    return best, posterior[best], listed


def _with_told(scene: Any, told: dict[str, dict[str, str]], world: Any) -> Any:
    """``scene`` with the attributes statements gave its objects, certain and marked as told."""
    from mmreason.vision.grounding import Attribute
    from mmreason.vision.vocabulary import TYPE, Vocabulary
    from mmreason.worlds import CLASS_ATTRIBUTE

    if world.questions is None:
        return scene
    vocabulary = Vocabulary.from_world(world)
    objects = []
    for obj in scene.objects:
        for name, value in told.get(obj.id, {}).items():
            prop = world.questions.attributes.get(name)
            if prop is None:
                continue
            kind = TYPE if prop == CLASS_ATTRIBUTE else prop
            concept = next((c for c in vocabulary.of(kind) if c.label == value), None)
            if concept is None:
                continue
            attribute = Attribute(concept, concept.label, 1.0, None, how="told in the conversation")
            if prop == CLASS_ATTRIBUTE:
                obj = replace(obj, type=attribute)
            else:
                obj = obj.with_attribute(prop, attribute)
        objects.append(obj)
    return replace(scene, objects=tuple(objects))


def _object_class(scene: Any, ids: tuple[str, ...]) -> str | None:
    """The class of the grounded objects ``ids``, when they share one."""
    if scene is None or not ids:
        return None
    types = {o.type.concept.iri for o in scene.objects if o.id in ids}
    return types.pop() if len(types) == 1 else None


def _about_the_scene(program: Program) -> bool:
    return program.ops[0].name == "select" and program.ops[0].args.get("cls") == _scene_class()


def _scene_class() -> str:
    """``mm:Scene``, imported when first needed: importing the Reasoner loads no RDF or torch."""
    from mmreason.kg.vocab import MM

    return str(MM.Scene)


def _replace_references(text: str, label: str) -> str:
    # "that thing", "this object": the referent named by its class is already a description.
    text = re.sub(r"\b(?:that|this|those|these) (?!one\b|ones\b)([a-z]+)\b", r"the \1", text)
    text = re.sub(r"\b(?:its|their)\b", f"the {label}'s", text)
    text = re.sub(rf"\b(?:{_SINGULAR}|{_PLURAL})\b", f"the {label}", text)
    text = re.sub(r"\bthe the\b", "the", text)
    return text


def _slot(match: Any) -> tuple[str, str, float, float]:
    return (match.phrase, match.concept.key, round(match.score, 4), round(match.p, 4))


def _without(resolved: tuple[tuple[str, str, float, float], ...], key: str) -> tuple:
    return tuple(r for r in resolved if r[1] != key)


def _not_understood(question: str, why: str) -> QuestionNotUnderstoodError:
    error = QuestionNotUnderstoodError(question)
    error.args = (f"question not understood: {quote(question)}: {why}",)
    return error


def _program_to_dict(program: Program) -> dict[str, Any]:
    return {
        "family": program.family,
        "question": program.question,
        "ops": [{"name": op.name, "args": _plain(dict(op.args))} for op in program.ops],
        "resolved": [list(r) for r in program.resolved],
    }


def _program_from_dict(data: dict[str, Any]) -> Program:
    ops = tuple(Op.of(str(op["name"]), **dict(op["args"])) for op in data["ops"])
    resolved = tuple((str(a), str(b), float(c), float(d)) for a, b, c, d in data.get("resolved", ()))
    return Program(str(data["family"]), str(data["question"]), ops, resolved)


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _answer_from_dict(data: dict[str, Any]) -> Answer:
    value = data.get("value")
    return Answer(
        question=str(data["question"]),
        value=tuple(value) if isinstance(value, list) else value,
        confidence=float(data["confidence"]),
        steps=tuple(
            Step(str(s["kind"]), str(s["detail"]), float(s["confidence"])) for s in data.get("steps", ())
        ),
        text=str(data.get("text", "")),
        family=str(data.get("family", "")),
        unit=data.get("unit"),
        about=tuple(str(a) for a in data.get("about", ())),
    )
