"""Question -> program: a small grammar of question forms whose slots are resolved by meaning.

The grammar fixes only the *form* of a question ("how many X", "is there
X", "would X if Y had been Z"); every slot is resolved against the labels of
the knowledge graph and the causal model by embedding similarity
(:class:`~mmreason.qa.lexicon.Lexicon`), so paraphrases and labels of any KG
work without word lists in code. Johnson et al., "Inferring and Executing
Programs for Visual Reasoning" (2017); Yi et al., "Neural-Symbolic VQA" (2018).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rdflib import XSD

from mmreason.errors import QuestionNotUnderstoodError
from mmreason.kg.vocab import MR
from mmreason.qa.lexicon import CLASS, PROPERTY, Lexicon, Match
from mmreason.qa.program import Op, Program

__all__ = ["EXAMPLES", "QuestionParser"]

#: One canonical question per supported form; the error for an unknown form lists the closest.
EXAMPLES = (
    "How many red cars are there?",
    "Is there a bus?",
    "What colour is the traffic light?",
    "What is the weather?",
    "Is the road wet?",
    "Is it raining?",
    "What is left of the bus?",
    "Is anyone on the crosswalk?",
    "Which vehicle is closest to the crosswalk?",
    "How far is the car from the crosswalk?",
    "How fast is the car going?",
    "Is the car braking?",
    "Must the car stop?",
    "Is the road slippery?",
    "Are there vulnerable road users?",
    "Why is the road wet?",
    "What happens to the braking distance if the road is dry?",
    "Would the car have stopped in time if the road had been dry?",
    "Had the road been dry, would the car have stopped in time?",
)

_DETERMINERS = {"the", "a", "an", "any", "some", "all", "there"}
# Pronouns that stand for a person in "is anyone on ...": read as the word "person".
_PERSON_PRONOUNS = {"anyone", "anybody", "someone", "somebody", "people", "persons"}
# Auxiliary verbs that carry tense, not meaning, inside a causal clause.
_AUXILIARIES = {
    *("had", "have", "has", "been", "be", "were", "was", "is", "are", "would", "will", "did", "does"),
}
# An attribute value must be this close: colour words sit near each other in any text space,
# so "purple" must not quietly become "blue".
VALUE_THRESHOLD = 0.8


def normalize(question: str) -> str:
    """Lower-case, expand contractions, drop end punctuation and extra spaces.

    >>> normalize("  What's the weather like?? ")
    'what is the weather like'
    """
    text = question.strip().lower().replace("\u2019", "'")
    text = re.sub(r"\bwhat's\b", "what is", text)
    text = re.sub(r"\b(is|are|was|were|does|do|did|had|would)n't\b", r"\1 not", text)
    text = re.sub(r"[,;]", " , ", text)
    text = re.sub(r"\s+", " ", text).replace(" ,", ",")
    return re.sub(r"[\s?!.,]+$", "", text).strip()


@dataclass(frozen=True, slots=True)
class _Form:
    family: str
    pattern: re.Pattern[str]
    build: Callable[[QuestionParser, str, dict[str, str]], Program]


class QuestionParser:
    """Parse questions into :class:`~mmreason.qa.program.Program` objects over one lexicon.

    The lexicon must hold the KG concepts (classes, properties, individuals)
    and, for causal questions, the SCM concepts: ``variable`` and ``state``
    kinds (``"Road"``, ``"Road=wet"``).
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        # Attribute values are the individuals of a class that is some property's range.
        ranges = set(lexicon.schema.ranges.values())
        self._value_kinds = {c.kind for c in lexicon.concepts if c.kind in ranges}

    # ---------------------------------------------------------------- entry point

    def parse(self, question: str) -> Program:
        """Parse ``question``; raise QuestionNotUnderstoodError listing the closest supported forms."""
        if not isinstance(question, str) or not question.strip():
            raise QuestionNotUnderstoodError(str(question), self.suggestions(str(question)))
        text = normalize(question)
        first_error: QuestionNotUnderstoodError | None = None
        for form in _FORMS:
            match = form.pattern.match(text)
            if match is None:
                continue
            slots = {k: v for k, v in match.groupdict().items() if v is not None}
            try:
                program = form.build(self, question, slots)
            except QuestionNotUnderstoodError as error:
                # The form fits but a slot does not resolve; a later form may read it better.
                first_error = first_error or error
                continue
            if program is not None:
                return program
        raise first_error or QuestionNotUnderstoodError(question, self.suggestions(question))

    def suggestions(self, question: str, n: int = 3) -> tuple[str, ...]:
        """The supported forms closest in meaning to ``question``."""
        embed = self.lexicon.embedder
        scores = (embed(list(EXAMPLES)) @ embed([question.lower() or "?"])[0]).tolist()
        ranked = sorted(zip(scores, EXAMPLES, strict=True), key=lambda p: -p[0])
        return tuple(example for _, example in ranked[:n])

    # ------------------------------------------------------------------- slots

    def _fail(self, question: str, phrase: str, what: str) -> QuestionNotUnderstoodError:
        error = QuestionNotUnderstoodError(question, self.suggestions(question))
        error.args = (f"question not understood: {question!r}: no {what} matches {phrase!r}",)
        return error

    def _resolve(self, question: str, phrase: str, kinds: set[str], what: str) -> Match:
        match = self.lexicon.resolve(phrase, kinds=kinds)
        if match is None:
            raise self._fail(question, phrase, what)
        return match

    def noun_phrase(self, question: str, phrase: str) -> tuple[Match, list[Match]]:
        """``"red cars"`` -> (the class Car, [the colour red]): head class plus attribute filters."""
        words = [w for w in phrase.split() if w not in _DETERMINERS]
        words = ["person" if w in _PERSON_PRONOUNS else w for w in words]
        if not words:
            raise self._fail(question, phrase, "class")
        best: tuple[float, int, Match] | None = None
        for start in range(len(words)):
            match = self.lexicon.resolve(" ".join(words[start:]), kinds={CLASS})
            if match is not None and (best is None or match.score > best[0]):
                best = (match.score, start, match)
        if best is None:
            raise self._fail(question, " ".join(words), "class of the knowledge graph")
        _, start, head = best
        modifiers = [self._value(question, word) for word in words[:start]]
        return head, modifiers

    def _value(self, question: str, word: str, *, context: str = "") -> Match:
        """An attribute value, read alone and beside its subject ("wet" and "wet road")."""
        phrases = [word] + ([f"{word} {context}"] if context else [])
        found = [self.lexicon.resolve(p, kinds=self._value_kinds, threshold=VALUE_THRESHOLD) for p in phrases]
        found = [m for m in found if m is not None]
        if not found:
            raise self._fail(question, word, "attribute value")
        best = max(found, key=lambda m: m.score)
        return Match(word, best.concept, best.score)

    def _selection(self, question: str, phrase: str) -> tuple[list[Op], list[Match]]:
        head, modifiers = self.noun_phrase(question, phrase)
        ops = [Op.of("select", cls=head.concept.key)]
        for modifier in modifiers:
            prop = self.lexicon.schema.property_for_value(modifier.concept.key)
            ops.append(Op.of("filter", prop=prop, value=modifier.concept.key))
        return ops, [head, *modifiers]

    def _state(self, question: str, clause: str) -> Match:
        words = [w for w in clause.replace(",", " ").split() if w not in _AUXILIARIES]
        return self._resolve(question, " ".join(words), {"state"}, "state of a causal variable")

    def _is_abstract(self, cls: str) -> bool:
        return len(self.lexicon.schema.subclasses(cls)) > 1

    # --------------------------------------------------------------- builders

    def _program(self, family: str, question: str, ops: list[Op], matches: list[Match]) -> Program:
        resolved = tuple((m.phrase, m.concept.key, round(m.score, 4)) for m in matches)
        return Program(family, question, tuple(ops), resolved)

    def _count(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        return self._program("count", question, [*ops, Op.of("count")], matches)

    def _exist(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        # Existence over a class with subclasses needs the rdfs:subClassOf closure: knowledge.
        family = "knowledge" if self._is_abstract(matches[0].concept.key) else "exist"
        return self._program(family, question, [*ops, Op.of("exist")], matches)

    def _what_attribute(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, slots["attr"], {PROPERTY}, "property")
        ops, matches = self._selection(question, slots["np"])
        ops.append(Op.of("query", prop=prop.concept.key))
        return self._program("attribute", question, ops, [prop, *matches])

    def _what_scene(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, slots["attr"], {PROPERTY}, "property")
        ops = [Op.of("select", cls=str(MR.Scene)), Op.of("query", prop=prop.concept.key)]
        return self._program("attribute", question, ops, [prop])

    def _verify(self, question: str, slots: dict[str, str]) -> Program:
        boolean_props = {p for p, r in self.lexicon.schema.ranges.items() if r == str(XSD.boolean)}
        context = "" if slots["np"] == "it" else slots["np"]
        try:
            value: Match | None = self._value(question, slots["value"], context=context)
        except QuestionNotUnderstoodError:
            value = None
        prop = self.lexicon.resolve(slots["value"], kinds={PROPERTY})
        negate = "not" in slots
        is_boolean = prop is not None and prop.concept.key in boolean_props
        if prop is not None and is_boolean and (value is None or prop.score > value.score):
            ops, matches = self._selection(question, slots["np"])
            ops.append(Op.of("follow", prop=prop.concept.key, negate=negate))
            return self._program("knowledge", question, ops, [*matches, prop])
        if value is None:
            raise self._fail(question, slots["value"], "attribute value")
        if slots["np"] == "it":
            ops, matches = [Op.of("select", cls=str(MR.Scene))], []
        else:
            ops, matches = self._selection(question, slots["np"])
        key = value.concept.key
        prop_key = self.lexicon.schema.property_for_value(key)
        ops.append(Op.of("verify", prop=prop_key, value=key, negate=negate))
        return self._program("attribute", question, ops, [*matches, value])

    def _left_right(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        # "X is left of Y" is X mr:leftOf Y; "right of Y" is the inverse.
        direction = "subject" if slots["dir"] == "left" else "object"
        ops.append(Op.of("relate", prop=str(MR.leftOf), find=direction))
        return self._program("spatial", question, ops, matches)

    def _on(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, f"on {slots['place']}", {PROPERTY}, "spatial relation")
        ops, matches = self._selection(question, slots["np"])
        ops += [Op.of("on", prop=prop.concept.key), Op.of("exist")]
        return self._program("spatial", question, ops, [*matches, prop])

    def _closest(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, f"distance to {slots['place']}", {PROPERTY}, "distance")
        ops, matches = self._selection(question, slots["np"])
        order = "min" if slots["sup"] in {"closest", "nearest"} else "max"
        ops.append(Op.of("closest", prop=prop.concept.key, order=order))
        return self._program("spatial", question, ops, [*matches, prop])

    def _attribute_of_closest(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, slots["attr"], {PROPERTY}, "property")
        distance = self._resolve(question, f"distance to {slots['place']}", {PROPERTY}, "distance")
        ops, matches = self._selection(question, slots["np"])
        order = "min" if slots["sup"] in {"closest", "nearest"} else "max"
        ops += [
            Op.of("closest", prop=distance.concept.key, order=order),
            Op.of("query", prop=prop.concept.key),
        ]
        return self._program("spatial", question, ops, [prop, *matches, distance])

    def _how_far(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, f"distance to {slots['place']}", {PROPERTY}, "distance")
        ops, matches = self._selection(question, slots["np"])
        ops.append(Op.of("query", prop=prop.concept.key))
        return self._program("spatial", question, ops, [*matches, prop])

    def _how_fast(self, question: str, slots: dict[str, str]) -> Program:
        prop = self._resolve(question, "speed", {PROPERTY}, "speed")
        ops, matches = self._selection(question, slots["np"])
        ops.append(Op.of("query", prop=prop.concept.key))
        return self._program("attribute", question, ops, [*matches, prop])

    def _must(self, question: str, slots: dict[str, str]) -> Program | None:
        actions = {self.lexicon.schema.ranges.get(str(MR.requires), "")}
        words = slots["rest"].split()
        best: tuple[float, list[Op], list[Match], Match] | None = None
        for cut in range(1, len(words)):
            action = self.lexicon.resolve(" ".join(words[cut:]), kinds=actions)
            if action is None:
                continue
            try:
                ops, matches = self._selection(question, " ".join(words[:cut]))
            except QuestionNotUnderstoodError:
                continue
            score = action.score + matches[0].score
            if best is None or score > best[0]:
                best = (score, ops, matches, action)
        if best is None:
            return None
        _, ops, matches, action = best
        ops.append(Op.of("rule", action=action.concept.key))
        return self._program("knowledge", question, ops, [*matches, action])

    def _why(self, question: str, slots: dict[str, str]) -> Program:
        state = self._state(question, slots["rest"])
        variable, value = state.concept.key.split("=", 1)
        ops = [Op.of("explain", variable=variable, value=value)]
        return self._program("explanation", question, ops, [state])

    def _what_if(self, question: str, slots: dict[str, str]) -> Program:
        target = self._resolve(question, slots["target"], {"variable"}, "causal variable")
        cond = self._state(question, slots["cond"])
        variable, value = cond.concept.key.split("=", 1)
        ops = [Op.of("do", target=target.concept.key, do={variable: value})]
        return self._program("intervention", question, ops, [target, cond])

    def _would(self, question: str, slots: dict[str, str]) -> Program:
        outcome = self._state(question, slots["outcome"])
        cond = self._state(question, slots["cond"])
        target, target_value = outcome.concept.key.split("=", 1)
        variable, value = cond.concept.key.split("=", 1)
        ops = [Op.of("counterfactual", target=target, value=target_value, do={variable: value})]
        return self._program("counterfactual", question, ops, [outcome, cond])


_OBJECT = r"(?:the |a |an |any |some )?(?P<np>.+?)"
_FORMS: tuple[_Form, ...] = tuple(
    _Form(family, re.compile(pattern), build)
    for family, pattern, build in (
        ("counterfactual", r"^had (?P<cond>.+?),? would (?P<outcome>.+)$", QuestionParser._would),
        ("counterfactual", r"^if (?P<cond>.+?),? would (?P<outcome>.+)$", QuestionParser._would),
        ("counterfactual", r"^would (?P<outcome>.+?),? if (?P<cond>.+)$", QuestionParser._would),
        (
            "intervention",
            r"^(?:what (?:happens|would happen|will happen) to|how would|how does) (?:the )?(?P<target>.+?)"
            r"(?: change)? if (?P<cond>.+)$",
            QuestionParser._what_if,
        ),
        ("explanation", r"^why (?:is|are|was|were|did|does|do|has|have) (?P<rest>.+)$", QuestionParser._why),
        (
            "count",
            r"^how many " + _OBJECT + r"(?: are there| is there| do you see| can you see| are visible)?"
            r"(?: in (?:the|this) (?:image|picture|scene|photo))?$",
            QuestionParser._count,
        ),
        (
            "spatial",
            r"^how far (?:is|are) " + _OBJECT + r" from (?:the )?(?P<place>.+)$",
            QuestionParser._how_far,
        ),
        (
            "attribute",
            r"^how fast (?:is|are|was|were) "
            + _OBJECT
            + r"(?: (?:going|driving|moving|travelling|traveling))?$",
            QuestionParser._how_fast,
        ),
        (
            "spatial",
            r"^(?:which|what) (?P<np>.+?) is (?P<sup>closest|nearest|farthest|furthest) (?:to )?"
            r"(?:the )?(?P<place>.+)$",
            QuestionParser._closest,
        ),
        (
            "spatial",
            r"^(?:what|who) (?:is|are) (?:to the )?(?P<dir>left|right) of " + _OBJECT + "$",
            QuestionParser._left_right,
        ),
        (
            "spatial",
            r"^(?:is|are) (?:there )?" + _OBJECT + r" on (?:the )?(?P<place>.+)$",
            QuestionParser._on,
        ),
        (
            "exist",
            r"^(?:is|are) there " + _OBJECT + r"(?: in (?:the|this) (?:image|picture|scene|photo))?$",
            QuestionParser._exist,
        ),
        ("knowledge", r"^(?:must|should|does|do|has|have|will) (?:the )?(?P<rest>.+)$", QuestionParser._must),
        (
            "spatial",
            r"^(?:what|which) (?P<attr>colou?r|[a-z ]+?) (?:is|are) (?:the )?(?P<np>.+?) "
            r"(?P<sup>closest|nearest|farthest|furthest) (?:to )?(?:the )?(?P<place>.+)$",
            QuestionParser._attribute_of_closest,
        ),
        (
            "attribute",
            r"^(?:what|which) (?P<attr>colou?r|[a-z ]+?) (?:is|are) (?:the )?(?P<np>.+)$",
            QuestionParser._what_attribute,
        ),
        ("attribute", r"^what is the (?P<attr>.+?)(?: like)?$", QuestionParser._what_scene),
        ("attribute", r"^(?:is|are) (?P<np>it)(?: (?P<not>not))? (?P<value>.+)$", QuestionParser._verify),
        (
            "attribute",
            r"^(?:is|are) (?:the )?(?P<np>.+?)(?: (?P<not>not))? (?P<value>[a-z]+)$",
            QuestionParser._verify,
        ),
    )
)
