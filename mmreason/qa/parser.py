"""Question -> program: a small grammar of question forms whose slots are resolved by meaning.

The grammar fixes only the *form* of a question ("how many X", "is there
X", "would X if Y had been Z", "does X need Y"); every slot is resolved
against the labels of the knowledge graph and the causal model by embedding
similarity (:class:`~mmreason.qa.lexicon.Lexicon`), so paraphrases and the
labels of any world's ontology work without word lists in code. Slots are
typed by the ontology: a property must apply to the class it is asked of
(its ``rdfs:domain``), a value must be in a property's ``rdfs:range``.
Johnson et al., "Inferring and Executing Programs for Visual Reasoning"
(2017); Yi et al., "Neural-Symbolic VQA" (2018).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from rdflib import XSD

from mmreason.errors import QuestionNotUnderstoodError
from mmreason.kg.vocab import MM
from mmreason.limits import MAX_QUESTION_CHARS, quote
from mmreason.qa.lexicon import CLASS, EVENT, PROPERTY, SLOT_TEMPERATURE, Concept, Lexicon, Match
from mmreason.qa.program import Op, Program

__all__ = ["FORMS", "QuestionParser", "normalize"]

#: The forms of question the grammar reads, with a template each; the error for a question
#: outside them lists the closest examples of the world (its manifest's, or these filled in).
FORMS = (
    "How many {class}s are there?",
    "Is there a {class}?",
    "What {property} is the {class}?",
    "Is the {class} {value}?",
    "What is left of the {class}?",
    "Is a {class} a {superclass}?",
    "What kind of thing is a {class}?",
    "Does a {class} {property} {value}?",
    "Why is {state}?",
    "What happens to {variable} if {state}?",
    "Had {state}, would {state}?",
    "Given {state}, is {state}?",
)

_DETERMINERS = {"the", "a", "an", "any", "some", "all", "there", "every", "each"}
# Pronouns that stand for a person in "is anyone on ...": read as the word "person".
_PERSON_PRONOUNS = {"anyone", "anybody", "someone", "somebody", "people", "persons"}
# Auxiliary verbs that carry tense, not meaning, inside a causal clause.
_AUXILIARIES = {
    *("had", "have", "has", "been", "be", "were", "was", "is", "are", "would", "will", "did", "does", "do"),
}
# Words that negate a clause: "had it not rained", "the tomato did not ripen", "nobody was hurt",
# and verbs that say the clause's event did not happen: "failed to stop", "avoided the crash",
# "prevented a collision". Two of them cancel ("did not fail to stop").
_NEGATIONS = {
    *("not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "without"),
    *("fail", "fails", "failed", "failing", "avoid", "avoids", "avoided", "avoiding"),
    *("prevent", "prevents", "prevented", "preventing", "unable"),
    *("miss", "misses", "missed", "missing", "spare", "spares", "spared", "sparing"),
}


# A change of a measured quantity in a condition: "going 5 m/s slower", "10 m closer", "at 8 m/s".
_QUANTITY = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+(?:/[a-z]+)?)?"
    r"(?:\s+(?P<cmp>slower|faster|less|more|closer|nearer|farther|further|lower|higher|shorter|longer"
    r"|earlier|sooner|later))?"
)
_LESS = {"slower", "less", "closer", "nearer", "lower", "shorter", "earlier", "sooner"}
_MORE = {"faster", "more", "farther", "further", "higher", "longer", "later"}
# Spoken amounts of time, as numbers: "half a second earlier" is "0.5 s earlier".
_SPOKEN = (
    (re.compile(r"\b(?:a )?quarter of a second\b"), "0.25 s"),
    (re.compile(r"\bhalf a second\b"), "0.5 s"),
    (re.compile(r"\ba second and a half\b"), "1.5 s"),
    (re.compile(r"\b(?:a|one) second\b"), "1 s"),
)
# Units as words, so that "at 8 m/s" reads as a rate and "10 m further" as a length.
_UNIT_WORDS = {
    "m/s": "metres per second",
    "km/h": "kilometres per hour",
    "mph": "miles per hour",
    "m": "metres",
    "metres": "metres",
    "meters": "metres",
    "s": "seconds",
    "seconds": "seconds",
}


def _negated(words: Iterable[str]) -> bool:
    """Whether the words say the opposite of their clause: an odd number of negations."""
    return sum(w in _NEGATIONS for w in words) % 2 == 1


# An attribute value must be this close: colour words sit near each other in any text space,
# so "purple" must not quietly become "blue".
VALUE_THRESHOLD = 0.8
# A property must be this close: "material" must not become "colour" (0.60), nor "temperature"
# the weather (0.59).
PROPERTY_THRESHOLD = 0.65
# Both classes of "is a X a Y?" must be this close, or "is the tomato red?" would read as one.
SUBSUMPTION_THRESHOLD = 0.7


# Ways of asking that say the same as a form of the grammar, in the grammar's words. Only the
# frame is rewritten; every slot is still resolved by meaning.
_REWRITES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # "and is it braking?": a leading "and" joins the turn to the last one, nothing more
        (r"^and (?=(?:is|are|was|were|does|do|did|would|will|can|has|have|had) )", ""),
        # "would the door have opened or not": "or not" asks yes or no, it negates nothing
        (r",? or not$", ""),
        (r"\banything but\b", "not"),
        # "tell me what the weather is" -> "what is the weather"; "tell me its colour"
        (r"^(?:please )?tell me (what|which) (.+?) (is|are)$", r"\1 \3 \2"),
        (r"^(?:please )?tell me (the [a-z ]+?)'s? ([a-z]+)$", r"what \2 is \1"),
        (r"^(?:please )?describe (the .+)$", r"what is \1 like"),
        # "which colour does the light show" -> "which colour is the light"
        (r"^(what|which) ([a-z]+) (?:does|do) (the .+?) (?:show|display|have)$", r"\1 \2 is \3"),
        # "does it have its lamps on" -> "are its lamps on"
        (r"^(?:does|do) (?:it|they|the [a-z ]+?) have (its|their|the) (.+?) (on|off|lit)$", r"are \1 \2 \3"),
        # "suppose the lamp had been on, would ...", "what if ..., would ..." -> "if ..., would ..."
        (r"^(?:suppose|supposing|imagine|assume|what if)(?: that)? (.+?), (would|could) ", r"if \1, \2 "),
        # "could the door have opened" in a conditional asks what would have happened
        (r"^(if|had) (.+?), could ", r"\1 \2, would "),
        (r"^could (.+?) have (.+?),? (if|had) ", r"would \1 have \2 \3 "),
        # "would a dry path have let the cart stop" -> "had a dry path, would the cart stop"
        (r"^would ((?:a|an) [a-z ]+?) have (?:let|allowed|helped|enabled|made) (the [a-z]+|it|them) (?:to )?",
         r"had \1, would \2 "),
        # "with a wet path, would ..." -> "if with a wet path, would ..." (the condition keeps its words)
        (r"^(with|without) (.+?), (would|could) ", r"if \1 \2, \3 "),
        # "are the lamps of the door on" -> "are the door's lamps on"
        (r"^(is|are) the ([a-z ]+?) of ((?:the|that|this) [a-z]+) (\w+)$", r"\1 \3's \2 \4"),
        (r"^how (?:quickly|rapidly) ", "how fast "),
        (r"^(?:what|which) speed (is|are|was|were) (.+?)(?: doing| going| moving| travelling| traveling)?$",
         r"how fast \1 \2 going"),
        # "does the light show red", "is the light showing red" -> "is the light red"
        (r"^(?:does|do) (the .+?) (?:show|display)s? (\w+)$", r"is \1 \2"),
        (r"^(is|are) (the .+?) (?:showing|displaying) (\w+)$", r"\1 \2 \3"),
        # "what is the dial showing", "what condition is the door in" -> "what is the door like"
        (r"^what (is|are) (the .+?) (?:showing|displaying)$", r"what \1 \2 like"),
        (r"^what (?:condition|state) (is|are) (the .+?) in$", r"what \1 \2 like"),
        # A clip's scene is its first frame: "what colour was the lamp at the start" asks it
        (r"^(what|which) ([a-z]+) (?:was|were) (.+?) "
         r"(?:at the (?:start|beginning)|at first|in the first frame)$", r"\1 \2 is \3"),
        (r"^at what (?:time|moment|point) (did|does|was|were|is) ", r"when \1 "),
        # "what is the box's shape" -> "what shape is the box"
        (r"^what (is|are) (the [a-z ]+?)'s? ([a-z]+)$", r"what \3 \1 \2"),
    )
)


def normalize(question: str) -> str:
    """Lower-case, expand contractions, drop end punctuation and extra spaces, and put a few
    frames of everyday English into the grammar's words.

    >>> normalize("  What's the weather like?? ")
    'what is the weather like'
    >>> normalize("Suppose the lamp had been on; could the door have opened in time?")
    'if the lamp had been on, would the door have opened in time'
    >>> normalize("What is the box's shape?")
    'what shape is the box'
    """
    text = question.strip().lower().replace("\u2019", "'")
    text = re.sub(r"\bwhat's\b", "what is", text)
    text = re.sub(r"\bwon't\b", "will not", text)
    text = re.sub(
        r"\b(is|are|was|were|does|do|did|had|would|has|have|could|should|must)n't\b", r"\1 not", text
    )
    text = re.sub(r"[,;]", " , ", text)
    text = re.sub(r"\s+", " ", text).replace(" ,", ",")
    text = re.sub(r"[\s?!.,]+$", "", text).strip()
    for _ in range(8):  # to a fixed point, so that normalizing twice changes nothing
        before = text
        for pattern, replacement in _REWRITES:
            text = pattern.sub(replacement, text)
        text = re.sub(r"[\s?!.,]+$", "", re.sub(r"\s+", " ", text)).strip()
        if text == before:
            break
    return text


@dataclass(frozen=True, slots=True)
class _SceneValue:
    """A value of a property of the scene, read from a phrase; called with the question, the
    program that checks the scene has it."""

    parser: QuestionParser
    prop: Match
    value: Match

    @property
    def score(self) -> float:
        return self.value.score

    def __call__(self, question: str) -> Program:
        ops = [
            Op.of("select", cls=str(MM.Scene)),
            Op.of("verify", prop=self.prop.concept.key, value=self.value.concept.key, negate=False),
        ]
        return self.parser._program("attribute", question, ops, [self.prop, self.value])


@dataclass(frozen=True, slots=True)
class _Form:
    family: str
    pattern: re.Pattern[str]
    build: Callable[[QuestionParser, str, dict[str, str]], Program | None]


class QuestionParser:
    """Parse questions into :class:`~mmreason.qa.program.Program` objects over one lexicon.

    The lexicon holds the KG concepts (classes, properties, individuals) and,
    for causal questions, the SCM concepts: ``variable`` and ``state`` kinds
    (``"Rain"``, ``"Rain=1"``). ``examples`` are questions this world answers,
    listed when a question is not understood.
    """

    def __init__(self, lexicon: Lexicon, *, examples: Sequence[str] = ()) -> None:
        self.lexicon = lexicon
        self.examples = tuple(examples) or self._filled_forms()

    # ---------------------------------------------------------------- entry point

    def parse(self, question: str) -> Program:
        """Parse ``question``; raise QuestionNotUnderstoodError listing the closest supported forms."""
        if not isinstance(question, str) or not question.strip():
            raise QuestionNotUnderstoodError(str(question), self.suggestions(str(question)))
        if len(question) > MAX_QUESTION_CHARS:
            error = QuestionNotUnderstoodError(question)
            error.args = (
                f"question not understood: {quote(question)} is longer than {MAX_QUESTION_CHARS:,} "
                "characters (docs/limits.md); ask one thing at a time",
            )
            raise error
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
        """The example questions of this world closest in meaning to ``question``."""
        examples = list(self.examples)
        if not examples:
            return ()
        embed = self.lexicon.embedder
        scores = (embed(examples) @ embed([question[:MAX_QUESTION_CHARS].lower() or "?"])[0]).tolist()
        ranked = sorted(zip(scores, examples, strict=True), key=lambda p: -p[0])
        return tuple(example for _, example in ranked[:n])

    def _filled_forms(self) -> tuple[str, ...]:
        """Questions of the grammar's forms about this lexicon's concepts (for a world that lists none)."""
        schema = self.lexicon.schema
        out = []
        # A leaf of the deepest hierarchy: a thing of the world, not a value class like a colour.
        leaves = sorted(
            (c for c in self.lexicon.of_kind(CLASS) if len(schema.subclasses(c.key)) == 1),
            key=lambda c: (-len(schema.superclasses.get(c.key, ())), c.key),
        )
        if leaves:
            leaf = leaves[0]
            out += [f"How many {leaf.label}s are there?", f"Is there a {leaf.label}?"]
            out.append(f"What kind of thing is a {leaf.label}?")
            above = [
                self.lexicon.get(s) for s in sorted(schema.superclasses.get(leaf.key, ())) if s != leaf.key
            ]
            out += [f"Is a {leaf.label} a {c.label}?" for c in above[:1] if c is not None]
        # A state in its longest words ("the path is slippery", not "slippery").
        states = [max(c.labels, key=len) for c in self.lexicon.of_kind("state")]
        variables = self.lexicon.of_kind("variable")
        if states:
            out.append(f"Why is it that {states[-1]}?")
            out.append(f"Given that {states[-1]}, is it that {states[0]}?")
            out.append(f"Had {states[0]}, would {states[-1]}?")
        if variables and states:
            out.append(f"What happens to {variables[0].label} if {states[-1]}?")
        return tuple(out)

    # ------------------------------------------------------------------- slots

    def _fail(self, question: str, phrase: str, what: str) -> QuestionNotUnderstoodError:
        error = QuestionNotUnderstoodError(question, self.suggestions(question))
        hint = (
            "; closest supported forms: " + "; ".join(map(repr, error.suggestions))
            if error.suggestions
            else ""
        )
        error.args = (f"question not understood: {quote(question)}: no {what} matches {quote(phrase)}{hint}",)
        return error

    def _resolve(
        self, question: str, phrase: str, kinds: set[str], what: str, *, threshold: float | None = None
    ) -> Match:
        match = self.lexicon.resolve(phrase, kinds=kinds, threshold=threshold)
        if match is None:
            raise self._fail(question, phrase, what)
        return match

    def _property(self, question: str, phrase: str, among: Iterable[str], what: str = "property") -> Match:
        """A property among ``among`` (those that apply to the subject), by its labels."""
        allowed = set(among)
        ranked = _among(self.lexicon.rank(phrase, kinds={PROPERTY}), allowed)
        if not ranked or ranked[0].score < PROPERTY_THRESHOLD:
            known = sorted(c.label for p in allowed if (c := self.lexicon.get(p)) is not None)
            error = self._fail(question, phrase, what)
            error.args = (f"{error.args[0]}; this world can be asked about: {', '.join(known) or 'nothing'}",)
            raise error
        return ranked[0]

    def noun_phrase(self, question: str, phrase: str) -> tuple[Match, list[Match]]:
        """``"red tomatoes"`` -> (the class Tomato, [the colour red]): head class plus attribute filters."""
        words = [w for w in phrase.split() if w not in _DETERMINERS]
        words = ["person" if w in _PERSON_PRONOUNS else w for w in words]
        if not words:
            raise self._fail(question, phrase, "class")
        best: tuple[float, int, Match] | None = None
        for start in range(len(words)):
            match = self.lexicon.resolve(" ".join(words[start:]), kinds={CLASS})
            # The longest phrase wins a tie: "cherry tomato" over its "tomato".
            if match is not None and (best is None or match.score > best[0] + 1e-4):
                best = (match.score, start, match)
        if best is None:
            raise self._fail(question, " ".join(words), "class of the knowledge graph")
        _, start, head = best
        applicable = self.lexicon.schema.applicable(head.concept.key)
        modifiers = [self._value(question, word, among=applicable) for word in words[:start]]
        return head, modifiers

    def _value(self, question: str, word: str, *, among: Iterable[str], context: str = "") -> Match:
        """A value of one of the properties ``among``, read alone and beside its subject
        ("ripe", "ripe tomato")."""
        kinds = self.lexicon.schema.value_kinds(among)
        word = " ".join(w for w in word.split() if w not in _DETERMINERS) or word  # "a clear day"
        phrases = [word] + ([f"{word} {context}"] if context else [])
        found = [self.lexicon.resolve(p, kinds=kinds, threshold=VALUE_THRESHOLD) for p in phrases]
        found = [m for m in found if m is not None]
        if not found:
            raise self._fail(question, word, "attribute value")
        best = max(found, key=lambda m: m.score)
        return Match(word, best.concept, best.score, best.p)

    def _selection(self, question: str, phrase: str) -> tuple[list[Op], list[Match]]:
        head, modifiers = self.noun_phrase(question, phrase)
        applicable = self.lexicon.schema.applicable(head.concept.key)
        ops = [Op.of("select", cls=head.concept.key)]
        for modifier in modifiers:
            prop = self.lexicon.schema.property_for_value(modifier.concept.key, among=applicable)
            ops.append(Op.of("filter", prop=prop, value=modifier.concept.key))
        return ops, [head, *modifiers]

    def _state(self, question: str, clause: str) -> Match:
        """The state of a causal variable a clause states.

        A sentence embedding barely sees "not" ("the tomato ripens" and "the tomato does not ripen" sit
        at 0.95), so polarity is read from the words: the clause and every state label are
        compared without their negations, and a clause whose negation differs from the best
        label's names the other state of that 0/1 variable (refused for any other variable).
        ``p`` is how sure the choice of the *variable* is among the variables' best labels.
        """
        match = self._find_state(clause)
        if match is None:
            raise self._fail(question, clause, "state of a causal variable")
        if isinstance(match, str):
            raise self._fail(question, clause, match)
        return match

    def _find_state(self, clause: str, *, threshold: float | None = None) -> Match | str | None:
        words = [w for w in clause.replace(",", " ").split() if w not in _AUXILIARIES]
        negated = _negated(words)
        core = " ".join(w for w in words if w not in _NEGATIONS)
        states = self.lexicon.of_kind("state")
        entries = [(c, label) for c in states for label in c.labels]
        if not entries or not core:
            return None
        cores = [
            " ".join(w for w in label.lower().split() if w not in _NEGATIONS) or label for _, label in entries
        ]
        embed = self.lexicon.embedder
        scores = (embed(cores) @ embed([core])[0]).tolist()
        best: dict[str, tuple[float, Concept, str]] = {}  # by variable: (score, concept, label)
        for (concept, label), score in zip(entries, scores, strict=True):
            variable = concept.key.split("=", 1)[0]
            if variable not in best or score > best[variable][0]:
                best[variable] = (score, concept, label)
        ranked = sorted(best.values(), key=lambda b: -b[0])
        score, concept, label = ranked[0]
        if score < (self.lexicon.threshold if threshold is None else threshold):
            return None
        weights = torch.tensor([b[0] for b in ranked]).div(SLOT_TEMPERATURE).softmax(dim=0)
        p = float(weights[0])
        variable = concept.key.split("=", 1)[0]
        values = [c for c in states if c.key.startswith(f"{variable}=")]
        # The state each label of the variable says the clause is in: its own, or, when their
        # negations differ, the other of a 0/1 variable ("the lamp is not lit" against "the lamp is lit").
        implied: dict[str, float] = {}
        for (c, text), s in zip(entries, scores, strict=True):
            if c not in values:
                continue
            if negated != _negated(text.lower().split()):
                others = [v for v in values if v.key != c.key]
                if len(others) != 1:
                    continue
                c = others[0]
            implied[c.key] = max(implied.get(c.key, -1.0), s)
        chosen = max(implied, key=lambda k: implied[k]) if implied else None
        if chosen is None:
            return "single opposite state of a causal variable"
        if len(implied) > 1:
            # Two states of one variable nearly as close ("the shelf is full" against "the shelf
            # is empty" and "a box is on the shelf"): which one the clause states is as unsure
            # as their scores are near.
            margin = torch.tensor(list(implied.values())).div(SLOT_TEMPERATURE).softmax(dim=0)
            p *= float(margin.max())
        return Match(clause, next(v for v in values if v.key == chosen), implied[chosen], p)

    def _is_abstract(self, cls: str) -> bool:
        return len(self.lexicon.schema.subclasses(cls)) > 1

    # --------------------------------------------------------------- builders

    def _program(self, family: str, question: str, ops: list[Op], matches: list[Match]) -> Program:
        resolved = tuple((m.phrase, m.concept.key, round(m.score, 4), round(m.p, 4)) for m in matches)
        return Program(family, question, tuple(ops), resolved)

    def _count(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        return self._program("count", question, [*ops, Op.of("count")], matches)

    def _exist(self, question: str, slots: dict[str, str]) -> Program:
        # "Is there rain?": a value of a property of the scene, not a thing, when it reads better so.
        scene = self._scene_value(slots["np"])
        try:
            ops, matches = self._selection(question, slots["np"])
        except QuestionNotUnderstoodError:
            if scene is None:
                raise
            return scene(question)
        if scene is not None and scene.score > matches[0].score:
            return scene(question)
        # Existence over a class with subclasses needs the rdfs:subClassOf closure: knowledge.
        family = "knowledge" if self._is_abstract(matches[0].concept.key) else "exist"
        return self._program(family, question, [*ops, Op.of("exist")], matches)

    def _what_attribute(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        applicable = self.lexicon.schema.applicable(matches[0].concept.key)
        prop = self._property(question, slots["attr"], applicable)
        ops.append(Op.of("query", prop=prop.concept.key))
        return self._program("attribute", question, ops, [prop, *matches])

    def _scene_properties(self) -> frozenset[str]:
        return self.lexicon.schema.applicable(str(MM.Scene))

    def _what_scene(self, question: str, slots: dict[str, str]) -> Program:
        try:
            prop = self._property(question, slots["attr"], self._scene_properties())
        except QuestionNotUnderstoodError:
            reading = self._what_thing_is_like(question, slots["attr"])
            if reading is None:
                raise
            return reading
        ops = [Op.of("select", cls=str(MM.Scene)), Op.of("query", prop=prop.concept.key)]
        return self._program("attribute", question, ops, [prop])

    def _what_thing_is_like(self, question: str, phrase: str) -> Program | None:
        """"What is the dial like?": the one attribute a class has of its own, asked of it
        (None when the class has none or several: then the question does not say which)."""
        try:
            ops, matches = self._selection(question, phrase)
        except QuestionNotUnderstoodError:
            return None
        schema = self.lexicon.schema
        scene = self._scene_properties()
        own = sorted(
            p
            for p in schema.applicable(matches[0].concept.key)
            if p not in scene and p in schema.ranges and not schema.ranges[p].startswith(str(XSD))
        )
        concept = self.lexicon.get(own[0]) if len(own) == 1 else None
        if concept is None:
            return None
        ops.append(Op.of("query", prop=own[0]))
        return self._program("attribute", question, ops, [Match(phrase, concept, 1.0, 1.0), *matches])

    def _verify(self, question: str, slots: dict[str, str]) -> Program:
        schema = self.lexicon.schema
        negate = "not" in slots
        if slots["np"] == "it":
            ops: list[Op] = [Op.of("select", cls=str(MM.Scene))]
            matches: list[Match] = []
            applicable = self._scene_properties()
            context = ""
        else:
            try:
                ops, matches = self._selection(question, slots["np"])
            except QuestionNotUnderstoodError:
                scene_reading = self._verify_scene_property(question, slots)
                if scene_reading is None:
                    raise
                return scene_reading
            applicable = schema.applicable(matches[0].concept.key)
            context = slots["np"]
        # A yes/no property of the subject, or of a value the subject has ("the path is slippery":
        # its surface is one that is slippery).
        held = {schema.ranges[p] for p in applicable if p in schema.ranges}
        boolean_props = {
            p
            for p, r in schema.ranges.items()
            if r == str(XSD.boolean) and (p in applicable or schema.domains.get(p) in held)
        }
        try:
            value: Match | None = self._value(question, slots["value"], among=applicable, context=context)
        except QuestionNotUnderstoodError:
            value = None
        prop = self.lexicon.resolve(slots["value"], kinds={PROPERTY})
        is_boolean = prop is not None and prop.concept.key in boolean_props
        if prop is not None and is_boolean and (value is None or prop.score > value.score):
            ops.append(Op.of("follow", prop=prop.concept.key, negate=negate))
            return self._program("knowledge", question, ops, [*matches, prop])
        if value is None:
            scene_reading = self._verify_scene_property(question, slots) if slots["np"] != "it" else None
            if scene_reading is not None:
                return scene_reading
            raise self._fail(question, slots["value"], "attribute value")
        key = value.concept.key
        prop_key = schema.property_for_value(key, among=applicable)
        ops.append(Op.of("verify", prop=prop_key, value=key, negate=negate))
        return self._program("attribute", question, ops, [*matches, value])

    def _either(self, question: str, slots: dict[str, str]) -> Program:
        """``"is the door open or shut?"``: which of two values of one property the subject has."""
        schema = self.lexicon.schema
        phrase = " ".join(w for w in slots["np"].split() if w not in _DETERMINERS)
        scene = self.lexicon.resolve(phrase, kinds={PROPERTY}, threshold=PROPERTY_THRESHOLD)
        matches: list[Match] = []
        if scene is not None and scene.concept.key in self._scene_properties():
            ops: list[Op] = [Op.of("select", cls=str(MM.Scene))]
            among: Iterable[str] = [scene.concept.key]
        else:
            ops, matches = self._selection(question, slots["np"])
            among = schema.applicable(matches[0].concept.key)
        first = self._value(question, slots["a"], among=among)
        second = self._value(question, slots["b"], among=among)
        prop = schema.property_for_value(first.concept.key, among=among)
        concept = self.lexicon.get(prop) if prop else None
        if concept is None or prop != schema.property_for_value(second.concept.key, among=among):
            raise self._fail(question, f"{slots['a']} or {slots['b']}", "pair of values of one property")
        ops.append(Op.of("query", prop=prop))
        return self._program("attribute", question, ops, [Match(phrase, concept, 1.0, 1.0), *matches])

    def _scene_value(self, phrase: str) -> _SceneValue | None:
        words = " ".join(w for w in phrase.split() if w not in _DETERMINERS)
        props = sorted(self._scene_properties())
        kinds = self.lexicon.schema.value_kinds(props)
        value = self.lexicon.resolve(words, kinds=kinds, threshold=VALUE_THRESHOLD) if words else None
        if value is None:
            return None
        prop = self.lexicon.schema.property_for_value(value.concept.key, among=props)
        concept = self.lexicon.get(prop) if prop else None
        return None if concept is None else _SceneValue(self, Match(phrase, concept, 1.0, 1.0), value)

    def _verify_scene_property(self, question: str, slots: dict[str, str]) -> Program | None:
        """``"is the weather not cloudy"``: a property of the scene named as the subject."""
        phrase = " ".join(w for w in slots["np"].split() if w not in _DETERMINERS)
        prop = self.lexicon.resolve(phrase, kinds={PROPERTY}, threshold=PROPERTY_THRESHOLD)
        if prop is None or prop.concept.key not in self._scene_properties():
            return None
        try:
            value = self._value(question, slots["value"], among=[prop.concept.key])
        except QuestionNotUnderstoodError:
            return None
        ops = [
            Op.of("select", cls=str(MM.Scene)),
            Op.of("verify", prop=prop.concept.key, value=value.concept.key, negate="not" in slots),
        ]
        return self._program("attribute", question, ops, [prop, value])

    def _verify_of(self, question: str, slots: dict[str, str]) -> Program:
        """``"is the tomato's colour red"``: whether a property of the subject has a value."""
        schema = self.lexicon.schema
        ops, matches = self._selection(question, slots["np"])
        applicable = schema.applicable(matches[0].concept.key)
        prop = self._property(question, slots["attr"], applicable)
        kinds = schema.value_kinds([prop.concept.key])
        found = [
            m
            for phrase in (slots["value"], f"{slots['attr']} {slots['value']}")
            if (m := self.lexicon.resolve(phrase, kinds=kinds, threshold=VALUE_THRESHOLD)) is not None
        ]
        if not found:
            raise self._fail(question, slots["value"], f"value of {prop.concept.label}")
        value = max(found, key=lambda m: m.score)
        value = Match(slots["value"], value.concept, value.score, value.p)
        op = Op.of("verify", prop=prop.concept.key, value=value.concept.key, negate="not" in slots)
        return self._program("attribute", question, [*ops, op], [*matches, prop, value])

    def _left_right(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        # "X is left of Y" is X mm:leftOf Y; "right of Y" is the inverse.
        direction = "subject" if slots["dir"] == "left" else "object"
        ops.append(Op.of("relate", prop=str(MM.leftOf), find=direction))
        return self._program("spatial", question, ops, matches)

    def _on(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        applicable = self.lexicon.schema.applicable(matches[0].concept.key)
        try:
            prop = self._property(question, f"on {slots['place']}", applicable, "spatial relation")
        except QuestionNotUnderstoodError:
            # The place by its class's names (a synonym of the class the relation ranges over): the relation
            # of the subject whose range is that class.
            prop = self._relation_to(question, slots["place"], applicable)
            if prop is None:
                raise
        ops += [Op.of("on", prop=prop.concept.key), Op.of("exist")]
        return self._program("spatial", question, ops, [*matches, prop])

    def _relation_to(self, question: str, place: str, applicable: Iterable[str]) -> Match | None:
        try:
            head, _ = self.noun_phrase(question, place)
        except QuestionNotUnderstoodError:
            return None
        schema = self.lexicon.schema
        fits = sorted(p for p in applicable if schema.ranges.get(p) == head.concept.key)
        concept = self.lexicon.get(fits[0]) if len(fits) == 1 else None
        return None if concept is None else Match(place, concept, head.score, head.p)

    def _distance(self, question: str, place: str, applicable: Iterable[str]) -> Match:
        return self._property(question, f"distance to {place}", applicable, "distance")

    def _closest(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        prop = self._distance(
            question, slots["place"], self.lexicon.schema.applicable(matches[0].concept.key)
        )
        order = "min" if slots["sup"] in {"closest", "nearest"} else "max"
        ops.append(Op.of("closest", prop=prop.concept.key, order=order))
        return self._program("spatial", question, ops, [*matches, prop])

    def _attribute_of_closest(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        applicable = self.lexicon.schema.applicable(matches[0].concept.key)
        prop = self._property(question, slots["attr"], applicable)
        distance = self._distance(question, slots["place"], applicable)
        order = "min" if slots["sup"] in {"closest", "nearest"} else "max"
        ops += [
            Op.of("closest", prop=distance.concept.key, order=order),
            Op.of("query", prop=prop.concept.key),
        ]
        return self._program("spatial", question, ops, [prop, *matches, distance])

    def _how_far(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        prop = self._distance(
            question, slots["place"], self.lexicon.schema.applicable(matches[0].concept.key)
        )
        ops.append(Op.of("query", prop=prop.concept.key))
        return self._program("spatial", question, ops, [*matches, prop])

    def _event(self, question: str, clause: str) -> Match:
        """The event class a clause names ("the gate open" -> the gate's opening)."""
        words = [w for w in clause.split() if w not in _AUXILIARIES]
        return self._resolve(question, " ".join(words), {EVENT}, "event a clip shows")

    def _when(self, question: str, slots: dict[str, str]) -> Program:
        """``"when did the lamp go out"``: the time of the first such event in the clip."""
        event = self._event(question, slots["clause"])
        return self._program("temporal", question, [Op.of("when", event=event.concept.key)], [event])

    def _how_fast_when(self, question: str, slots: dict[str, str]) -> Program:
        """``"how fast was the cart going when the gate opened"``: its speed at that event."""
        event = self._event(question, slots["clause"])
        ops, matches = self._selection(question, slots["np"])
        prop = self._property(
            question, "speed", self.lexicon.schema.applicable(matches[0].concept.key), "speed"
        )
        ops += [Op.of("at", event=event.concept.key), Op.of("query", prop=prop.concept.key)]
        return self._program("temporal", question, ops, [*matches, event, prop])

    def _how_fast_closest(self, question: str, slots: dict[str, str]) -> Program:
        """``"how fast is the cart nearest the gate going"``: the speed of the one nearest."""
        return self._attribute_of_closest(question, {**slots, "attr": "speed"})

    def _how_fast(self, question: str, slots: dict[str, str]) -> Program:
        ops, matches = self._selection(question, slots["np"])
        prop = self._property(
            question, "speed", self.lexicon.schema.applicable(matches[0].concept.key), "speed"
        )
        ops.append(Op.of("query", prop=prop.concept.key))
        return self._program("attribute", question, ops, [*matches, prop])

    def _class(self, question: str, phrase: str, *, threshold: float | None = None) -> Match:
        words = [w for w in phrase.split() if w not in _DETERMINERS]
        return self._resolve(
            question, " ".join(words), {CLASS}, "class of the knowledge graph", threshold=threshold
        )

    def _subsumption(self, question: str, slots: dict[str, str]) -> Program | None:
        """``"is a tomato a vegetable"``: whether one class is below another."""
        words = slots["rest"].split()
        best: tuple[float, Match, Match] | None = None
        for cut in range(1, len(words)):
            if words[cut] not in {"a", "an", "kind", "type", "sort"}:
                continue
            tail = " ".join(words[cut:])
            tail = re.sub(r"^(?:a |an )?(?:kind|type|sort) of ", "", tail)
            try:
                sub = self._class(question, " ".join(words[:cut]), threshold=SUBSUMPTION_THRESHOLD)
                sup = self._class(question, tail, threshold=SUBSUMPTION_THRESHOLD)
            except QuestionNotUnderstoodError:
                continue
            if best is None or sub.score + sup.score > best[0]:
                best = (sub.score + sup.score, sub, sup)
        if best is None:
            return None
        _, sub, sup = best
        ops = [Op.of("subclass", cls=sub.concept.key, of=sup.concept.key)]
        return self._program("knowledge", question, ops, [sub, sup])

    def _type_of(self, question: str, slots: dict[str, str]) -> Program | None:
        """``"what kind of fruit is the red one"``: the class of the object named, as the image shows it
        (``"what kind of thing is a tomato"``, with no object named, asks the ontology instead)."""
        try:
            kind = self._class(question, slots["cls"])
            ops, matches = self._selection(question, slots["np"])
        except QuestionNotUnderstoodError:
            return None
        if not self.lexicon.schema.is_subclass(matches[0].concept.key, kind.concept.key):
            return None
        return self._program("attribute", question, [*ops, Op.of("type")], matches)

    def _kind_of(self, question: str, slots: dict[str, str]) -> Program:
        """``"what kind of thing is a tomato"``: the classes right above a class."""
        cls = self._class(question, slots["np"])
        return self._program("knowledge", question, [Op.of("superclass", cls=cls.concept.key)], [cls])

    def _rule(self, question: str, slots: dict[str, str]) -> Program | None:
        """``"does a tomato need water"``, ``"must the tomato be picked"``: whether a class, or the objects
        of it in the image, has a property's value (by a fact about the class, or a rule whose
        condition the image shows). A clause that reads better as a causal state ("will the
        tomato ripen") is asked of the causal model instead."""
        schema = self.lexicon.schema
        words = slots["rest"].split()
        ranged = [p for p in schema.ranges if schema.ranges[p] != str(XSD.boolean)]
        best: tuple[float, list[Op], list[Match], Match, Match] | None = None
        for cut in range(1, len(words)):
            try:
                ops, matches = self._selection(question, " ".join(words[:cut]))
            except QuestionNotUnderstoodError:
                continue
            tail = words[cut:]
            for k in range(len(tail)):
                value = self.lexicon.resolve(
                    " ".join(tail[k:]), kinds=schema.value_kinds(ranged), threshold=VALUE_THRESHOLD
                )
                if value is None:
                    continue
                props = sorted(p for p in ranged if schema.property_for_value(value.concept.key, among=[p]))
                if not props:
                    continue
                if k == 0:
                    # No verb: the modal itself ("must") is the property, when only one fits.
                    if len(props) != 1:
                        continue
                    concept = self.lexicon.get(props[0])
                    prop = None if concept is None else Match(slots["modal"], concept, 1.0)
                else:
                    ranked = _among(self.lexicon.rank(" ".join(tail[:k]), kinds={PROPERTY}), props)
                    prop = ranked[0] if ranked and ranked[0].score >= PROPERTY_THRESHOLD else None
                if prop is None:
                    continue
                score = (matches[0].score + value.score + prop.score) / 3
                if best is None or score > best[0]:
                    best = (score, ops, matches, prop, value)
        state = self._find_state(" ".join(words))
        if isinstance(state, Match) and (best is None or state.score > best[0]):
            return self._observe_state(question, state, {})
        if best is None:
            return None
        _, ops, matches, prop, value = best
        ops.append(Op.of("rule", prop=prop.concept.key, value=value.concept.key))
        return self._program("knowledge", question, ops, [*matches, prop, value])

    def _observe_state(
        self, question: str, outcome: Match, given: dict[str, str], conds: Sequence[Match] = ()
    ) -> Program:
        target, value = outcome.concept.key.split("=", 1)
        ops = [Op.of("observe", target=target, value=value, evidence=given)]
        return self._program("observation", question, ops, [outcome, *conds])

    def _state_question(self, question: str, slots: dict[str, str]) -> Program | None:
        """``"is the path slippery"``: a yes/no question whose clause is a state of the causal model."""
        if re.search(r"\bif\b", slots["rest"]):
            # A conditional whose outcome did not resolve is not a question about its condition
            # ("would it have been fine if the light had been red" is not "is the light red").
            return None
        state = self._find_state(slots["rest"], threshold=SUBSUMPTION_THRESHOLD)
        if not isinstance(state, Match):
            return None
        program = self._observe_state(question, state, {})
        if slots.get("aux") in ("did", "has", "have", "had"):
            # "did the lamp go out?": asked of a clip, whether it shows that event; of a still, the
            # causal model's answer (the executor chooses by what it is given).
            words = [w for w in slots["rest"].split() if w not in _AUXILIARIES]
            core = " ".join(w for w in words if w not in _NEGATIONS)
            event = self.lexicon.resolve(core, kinds={EVENT}) if core else None
            if event is not None:
                head = program.ops[0]
                ops = (Op.of(head.name, **head.args, event=event.concept.key, negate=_negated(words)),)
                program = Program(program.family, program.question, ops, program.resolved)
        return program

    def _given(self, question: str, slots: dict[str, str]) -> Program:
        """``"given the prisoner died, was there a court order"``: P(outcome | the stated evidence)."""
        conds = [self._state(question, part) for part in re.split(r",? and ", slots["cond"])]
        outcome = self._state(question, slots["outcome"])
        given = dict(c.concept.key.split("=", 1) for c in conds)
        return self._observe_state(question, outcome, given, conds)

    def _why(self, question: str, slots: dict[str, str]) -> Program:
        state = self._state(question, slots["rest"])
        variable, value = state.concept.key.split("=", 1)
        ops = [Op.of("explain", variable=variable, value=value)]
        return self._program("explanation", question, ops, [state])

    def _causes(self, question: str, slots: dict[str, str]) -> Program:
        """``"what caused the flood"``: which candidate causes the flood would not have happened
        without (but-for tests; the world's bindings name the candidates)."""
        state = self._state(question, slots["rest"])
        variable, value = state.concept.key.split("=", 1)
        ops = [Op.of("causes", variable=variable, value=value)]
        return self._program("explanation", question, ops, [state])

    def _what_if(self, question: str, slots: dict[str, str]) -> Program:
        target = self._resolve(question, slots["target"], {"variable"}, "causal variable")
        cond = self._state(question, slots["cond"])
        variable, value = cond.concept.key.split("=", 1)
        ops = [Op.of("do", target=target.concept.key, do={variable: value})]
        return self._program("intervention", question, ops, [target, cond])

    def _would(self, question: str, slots: dict[str, str]) -> Program:
        outcome = self._state(question, slots["outcome"])
        target, target_value = outcome.concept.key.split("=", 1)
        quantity = self.quantity(slots["cond"])
        if quantity is not None:
            match, how, amount = quantity
            change = {match.concept.key: amount}
            op = (
                Op.of("counterfactual", target=target, value=target_value, do={}, shift=change)
                if how == "shift"
                else Op.of("counterfactual", target=target, value=target_value, do=change)
            )
            return self._program("counterfactual", question, [op], [outcome, match])
        cond = self._state(question, slots["cond"])
        variable, value = cond.concept.key.split("=", 1)
        ops = [Op.of("counterfactual", target=target, value=target_value, do={variable: value})]
        return self._program("counterfactual", question, ops, [outcome, cond])

    def quantity(self, clause: str) -> tuple[Match, str, float] | None:
        """A clause that sets or shifts a real-valued variable: ``(Speed, "shift", -5.0)`` for "it
        had been going 5 m/s slower", ``(Speed, "set", 8.0)`` for "it had been going at 8 m/s"."""
        for spoken, number in _SPOKEN:
            clause = spoken.sub(number, clause)
        found = _QUANTITY.search(clause)
        if found is None:
            return None
        amount, unit, comparative = float(found["num"]), found["unit"], found["cmp"]
        if unit in _LESS or unit in _MORE:
            unit, comparative = None, unit
        how = "shift" if comparative else "set"
        if comparative in _LESS:
            amount = -amount
        kept = " ".join(w for w in (_UNIT_WORDS.get(unit or "", unit), comparative) if w)
        text = clause[: found.start()] + f" {kept} " + clause[found.end() :]
        phrase = " ".join(w for w in text.split() if w not in _AUXILIARIES)
        states = {c.key.split("=", 1)[0] for c in self.lexicon.of_kind("state")}
        reals = {c.key for c in self.lexicon.of_kind("variable") if c.key not in states}
        ranked = _among(self.lexicon.rank(phrase, kinds={"variable"}), reals)
        if not ranked or ranked[0].score < self.lexicon.threshold:
            return None
        best = ranked[0]
        return Match(clause, best.concept, best.score, best.p), how, amount


def _among(ranked: list[Match], allowed: Iterable[str]) -> list[Match]:
    """The matches of ``allowed`` concepts, their ``p`` renormalised over those candidates."""
    keys = set(allowed)
    kept = [m for m in ranked if m.concept.key in keys]
    total = sum(m.p for m in kept) or 1.0
    return [Match(m.phrase, m.concept, m.score, m.p / total) for m in kept]


_OBJECT = r"(?:the |a |an |any |some )?(?P<np>.+?)"
_FORMS: tuple[_Form, ...] = tuple(
    _Form(family, re.compile(pattern), build)
    for family, pattern, build in (
        ("counterfactual", r"^had (?P<cond>.+?),? would (?P<outcome>.+)$", QuestionParser._would),
        ("counterfactual", r"^if (?P<cond>.+?),? would (?P<outcome>.+)$", QuestionParser._would),
        ("counterfactual", r"^would (?P<outcome>.+?),? if (?P<cond>.+)$", QuestionParser._would),
        # "would the grass be wet had it rained": the inverted conditional.
        ("counterfactual", r"^would (?P<outcome>.+?),? had (?P<cond>.+)$", QuestionParser._would),
        (
            "intervention",
            r"^(?:what (?:happens|would happen|will happen) to|how would|how does) (?:the )?(?P<target>.+?)"
            r"(?: change)? if (?P<cond>.+)$",
            QuestionParser._what_if,
        ),
        (
            "observation",
            # A comma ends the given clause when there is one: "given it did not rain, ...".
            r"^(?:given|knowing|if we know) (?:that )?(?P<cond>(?:[^,]+(?=, ))|.+?),? "
            r"(?:is|was|were|are|did|does|do|will|would|has|had)"
            r" (?P<outcome>.+)$",
            QuestionParser._given,
        ),
        ("explanation", r"^why (?:is|are|was|were|did|does|do|has|have) (?P<rest>.+)$", QuestionParser._why),
        (
            "explanation",
            r"^(?:what|which (?:things?|factors?|causes?))"
            r" (?:caused|causes|led to|leads to|(?:is|was|were|are) (?:responsible for|to blame for|behind)"
            r"|(?:is|was|were|are) the (?:causes?|reasons?) (?:of|for))"
            r" (?P<rest>.+)$",
            QuestionParser._causes,
        ),
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
        ("temporal", r"^when (?:did|does|do|was|were|is|had) (?P<clause>.+)$", QuestionParser._when),
        (
            "temporal",
            r"^how fast (?:was|were|is|are) "
            + _OBJECT
            + r"(?: (?:going|driving|moving|travelling|traveling))?"
            + r" (?:when|as|at the moment) (?P<clause>.+)$",
            QuestionParser._how_fast_when,
        ),
        (
            "spatial",
            r"^how fast (?:is|are|was|were) (?:the )?(?P<np>.+?) (?P<sup>closest|nearest|farthest|furthest) "
            r"(?:to )?(?:the )?(?P<place>.+?)(?: (?:going|driving|moving|travelling|traveling))?$",
            QuestionParser._how_fast_closest,
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
        (
            "attribute",
            r"^what (?:kind|type|sort) of (?P<cls>[a-z ]+?) (?:is|are) (?P<np>the .+)$",
            QuestionParser._type_of,
        ),
        (
            "knowledge",
            r"^what (?:kind|type|sort) of (?:\w+ )?(?:is|are) (?:a |an |the )?(?P<np>.+)$",
            QuestionParser._kind_of,
        ),
        ("knowledge", r"^what (?:is|are) (?:a|an) (?P<np>.+)$", QuestionParser._kind_of),
        (
            "knowledge",
            r"^(?P<modal>must|should|does|do|has|have|will|can|may|need) (?:the |a |an )?(?P<rest>.+)$",
            QuestionParser._rule,
        ),
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
        (
            "attribute",
            r"^how (?:is|are) (?:the )?(?P<attr>.+?)(?: (?:today|now|right now|here))?$",
            QuestionParser._what_scene,
        ),
        (
            "attribute",
            r"^(?:is|are) (?:the )?(?P<np>[a-z ]+?) (?P<a>[a-z]+) or (?P<b>[a-z]+)$",
            QuestionParser._either,
        ),
        (
            "attribute",
            r"^(?:is|are) (?:the )?(?P<np>[a-z ]+?)'s? (?P<attr>[a-z ]+?)"
            r"(?: (?P<not>not))? (?P<value>[a-z]+)$",
            QuestionParser._verify_of,
        ),
        ("attribute", r"^(?:is|are) (?P<np>it)(?: (?P<not>not))? (?P<value>.+)$", QuestionParser._verify),
        ("knowledge", r"^(?:is|are) (?:a |an |every |all |the )?(?P<rest>.+)$", QuestionParser._subsumption),
        (
            "attribute",
            r"^(?:is|are) (?:the )?(?P<np>.+?)(?: (?P<not>not))? (?P<value>[a-z]+)$",
            QuestionParser._verify,
        ),
        (
            "observation",
            r"^(?P<aux>is|are|was|were|will|would|did|does|do|has|have|had|can) (?P<rest>.+)$",
            QuestionParser._state_question,
        ),
    )
)
