"""Compositional questions in English → CLEVR functional programs, with a world's own words.

The grammar is CLEVR's question families (exist, count, query, chained
relations, and/or, "same <attribute> as", comparisons of attributes and of
counts), read by a small backtracking parser. Every word it matches against
the scene comes from the world: attribute values and object classes by their
``rdfs:label`` and ``skos:altLabel`` (so a synonym names the same value as its
label), attribute names the same way, relations by
the labels of the properties ``[questions.relations]`` names, and a
property's ``skos:hiddenLabel`` as the phrase that asks for it without naming
it ("what is it made of?"). Only English function words live here.

>>> from mmreason.worlds import bundled_worlds, resolve_world
>>> world = next(name for name in bundled_worlds() if resolve_world(name).questions is not None)
>>> parser = CompositionalParser.for_world(world)
>>> [n["type"] for n in parser.parse("How many things are there?")]
['scene', 'count']
>>> parser.parse("What is the meaning of life?") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmreason.errors import WorldError

if TYPE_CHECKING:
    from mmreason.worlds import World

__all__ = ["CompositionalParser", "Lexicon"]

Node = tuple[Any, ...]
Alternatives = Iterator[tuple[Node, int]]

_DETERMINERS = {"the", "a", "an", "any", "some"}
_OTHER = {"other", "another"}
_COPULA = {"is", "are", "has", "have", "that's"}
_RELATIVE = {"that", "which", "who"}
_PRONOUNS = {"it", "that", "them"}
_EARLIER = {"previous", "earlier", "above", "former"}
_INDEFINITE_NOUNS = {"anything", "something"}


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A world's words for compositional questions, built from its ontology (:meth:`for_world`).

    ``values[attribute][word]`` is the canonical value (the ``rdfs:label``) a word names;
    ``nouns`` are the words for any object; ``attribute_words`` name attributes;
    ``asked_as`` are hidden labels; ``relations`` are relation phrases (as word tuples).
    """

    values: Mapping[str, Mapping[str, str]]
    nouns: frozenset[str]
    attribute_words: Mapping[str, str]
    asked_as: Mapping[tuple[str, ...], str]
    relations: Mapping[tuple[str, ...], str]
    class_attribute: str | None = None
    word_values: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    @classmethod
    def for_world(cls, world: World | str | Path) -> Lexicon:
        """The lexicon of a world with a ``[questions]`` table and a ``[vision]`` schema."""
        from rdflib import RDF, RDFS, SKOS, URIRef

        from mmreason.worlds import CLASS_ATTRIBUTE, resolve_world

        resolved = resolve_world(world)
        if resolved.questions is None or resolved.vision is None:
            raise WorldError(
                f"{resolved.manifest}: the world {resolved.name!r} has no [questions] or [vision] table, "
                "so no compositional questions"
            )
        graph = resolved.graph

        def words(node: Any, *, hidden: bool = False) -> list[str]:
            preds = (RDFS.label, SKOS.altLabel) + ((SKOS.hiddenLabel,) if hidden else ())
            found = [str(o).lower() for p in preds for o in graph.objects(node, p)]
            return list(dict.fromkeys(found))

        def label(node: Any) -> str:
            first = graph.value(node, RDFS.label)
            return (
                str(first).lower() if first is not None else str(node).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            )

        objects = URIRef(resolved.vision.objects)
        values: dict[str, dict[str, str]] = {}
        attribute_words: dict[str, str] = {}
        asked_as: dict[tuple[str, ...], str] = {}
        class_attribute = None
        for name, iri in resolved.questions.attributes.items():
            attribute_words[name] = name
            if iri == CLASS_ATTRIBUTE:
                class_attribute = name
                leaves = [c for c in _below(graph, objects) if not any(graph.subjects(RDFS.subClassOf, c))]
                values[name] = {w: label(c) for c in leaves for w in words(c)}
                continue
            prop = URIRef(iri)
            for w in words(prop):
                attribute_words[w] = name
            for w in graph.objects(prop, SKOS.hiddenLabel):
                asked_as[tuple(str(w).lower().split())] = name
            value_class = graph.value(prop, RDFS.range)
            values[name] = {w: label(v) for v in graph.subjects(RDF.type, value_class) for w in words(v)}
        if class_attribute is not None:
            for candidate in _shape_property(graph, resolved):
                attribute_words.setdefault(candidate, class_attribute)
        relations = {
            tuple(w.split()): name
            for name, rule in resolved.questions.relations.items()
            for w in words(URIRef(rule.property))
        }
        word_values: dict[str, list[tuple[str, str]]] = {}
        for attribute, table in values.items():
            for w, v in table.items():
                word_values.setdefault(w, []).append((attribute, v))
        return cls(
            values={a: dict(t) for a, t in values.items()},
            nouns=frozenset(words(objects)),
            attribute_words=attribute_words,
            asked_as=asked_as,
            relations=relations,
            class_attribute=class_attribute,
            word_values={w: tuple(v) for w, v in word_values.items()},
        )

    def value(self, word: str) -> tuple[str, str] | None:
        """The (attribute, value) a single word names, singular or plural; None if none."""
        for form in _singulars(word):
            found = self.word_values.get(form)
            if found:
                return found[0]
        return None

    def noun(self, word: str) -> tuple[str, str] | bool | None:
        """A head noun: (class attribute, value) for a class word, True for a word for any object."""
        for form in _singulars(word):
            if form in self.nouns:
                return True
            for attribute, value in self.word_values.get(form, ()):
                if attribute == self.class_attribute:
                    return (attribute, value)
        return None


def _singulars(word: str) -> tuple[str, ...]:
    forms = [word]
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return tuple(forms)


def _below(graph: Any, root: Any) -> list[Any]:
    from rdflib import RDFS

    seen: list[Any] = []
    todo = [root]
    while todo:
        node = todo.pop()
        for child in graph.subjects(RDFS.subClassOf, node):
            if child not in seen:
                seen.append(child)
                todo.append(child)
    return seen


def _shape_property(graph: Any, world: World) -> list[str]:
    """Words for the class attribute itself: the labels of a property whose comment calls it rdf:type."""
    from rdflib import RDF, RDFS

    found = []
    for prop in graph.subjects(RDF.type, RDF.Property):
        comment = str(graph.value(prop, RDFS.comment) or "")
        if "rdf:type" in comment:
            found += [str(o).lower() for o in graph.objects(prop, RDFS.label)]
    return found


@dataclass(frozen=True, slots=True)
class _Context:
    """What earlier turns leave for this one: what "it" is, the attribute last asked about, the
    objects mentioned (most recent first)."""

    node: Node | None = None
    attribute: str | None = None
    mentioned: tuple[int, ...] = ()


_TOKEN = re.compile(r"[a-z0-9']+|[;,]")
# Words around a question that do not change it: "Please tell me ...", "... in the picture?".
_LEADS = (
    "can you tell me",
    "could you tell me",
    "tell me",
    "do you know",
    "please",
    "now",
    "so",
    "ok",
    "okay",
)
_TRAILS = (
    "please",
    "in the picture",
    "in the image",
    "in the scene",
    "in this picture",
    "in this image",
    "in this scene",
    "on the table",
)
# "Isn't it red?" asks what "Is it red?" asks.
_CONTRACTED = {"isn't": "is", "aren't": "are", "doesn't": "does", "don't": "do"}
# "to its left" is "to the left of it"; "on its right side", "on the right side of it".
_ITS_SIDE = re.compile(r"\b(to|on) its (\w+)( side)?\b")


class CompositionalParser:
    """English → CLEVR program (a list of nodes with ``type``, ``inputs``, ``side_inputs``)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._relation_firsts = {phrase[0] for phrase in lexicon.relations}

    @classmethod
    def for_world(cls, world: World | str | Path) -> CompositionalParser:
        return cls(Lexicon.for_world(world))

    def parse(
        self,
        question: str,
        *,
        it: int | None = None,
        attribute: str | None = None,
        mentioned: Sequence[int] = (),
    ) -> list[dict[str, Any]] | None:
        """The program of ``question``, or None when the grammar does not cover it.

        What earlier turns of a conversation leave, when they do: ``it``, the index of the
        object "it" refers to (the program then starts from a ``refer`` node naming it);
        ``attribute``, the attribute last asked about ("and that of the red one?");
        ``mentioned``, the objects mentioned so far, most recent first ("the previous small thing").
        """
        text = _ITS_SIDE.sub(r"\1 the \2\3 of it", question.lower().replace("’", "'"))
        tokens = _TOKEN.findall(text)
        tokens = [t.removesuffix("'s") if t.endswith("'s") and t != "that's" else t for t in tokens]
        tokens = [_CONTRACTED.get(t, t) for t in tokens]
        bound = _Context(None if it is None else ("refer", int(it)), attribute, tuple(mentioned))
        for variant in self._variants(tokens):
            for tree, end in self._question(variant, 0, bound):
                if end == len(variant):
                    return _linear(tree)
        return None

    def _variants(self, tokens: list[str]) -> Iterator[list[str]]:
        """The question's words, then without the lead-ins and trailing phrases that do not change it."""
        seen: list[list[str]] = []
        todo = [tokens]
        while todo:
            t = todo.pop(0)
            if not t or t in seen:
                continue
            seen.append(t)
            yield t
            for lead in _LEADS:
                end = self._words(t, 0, lead)
                if end is not None:
                    todo.append(t[self._optional(t, end, ",") :])
            for trail in _TRAILS:
                words = trail.split()
                if len(t) > len(words) and t[-len(words) :] == words:
                    todo.append(t[: -len(words)])

    def parse_statement(
        self, statement: str, *, it: int | None = None, mentioned: Sequence[int] = ()
    ) -> list[dict[str, Any]] | None:
        """The program of a statement that introduces one object ("There is a small red thing."),
        ending in the ``unique`` that picks it; None when the grammar does not read it."""
        tokens = _TOKEN.findall(_ITS_SIDE.sub(r"\1 the \2\3 of it", statement.lower().replace("’", "'")))
        bound = _Context(None if it is None else ("refer", int(it)), None, tuple(mentioned))
        start = (
            self._words(tokens, 0, "there is")
            or self._words(tokens, 0, "there's")
            or self._words(tokens, 0, "look at")
        )
        for tree, end in self._np_obj(tokens, 0 if start is None else start, bound):
            if end == len(tokens):
                return _linear(tree)
        return None

    # ------------------------------------------------------------------ helpers

    def _word(self, t: list[str], i: int, *options: str) -> int | None:
        return i + 1 if i < len(t) and t[i] in options else None

    def _phrase(self, t: list[str], i: int, phrase: tuple[str, ...]) -> int | None:
        return i + len(phrase) if tuple(t[i : i + len(phrase)]) == phrase else None

    def _words(self, t: list[str], i: int, text: str) -> int | None:
        return self._phrase(t, i, tuple(text.split()))

    def _optional(self, t: list[str], i: int, *options: str) -> int:
        return i + 1 if i < len(t) and t[i] in options else i

    def _attribute(self, t: list[str], i: int) -> tuple[str, int] | None:
        for length in (2, 1):
            phrase = " ".join(t[i : i + length])
            if len(t) >= i + length and phrase in self.lexicon.attribute_words:
                return self.lexicon.attribute_words[phrase], i + length
        return None

    def _relation(self, t: list[str], i: int) -> Iterator[tuple[str, int]]:
        if i >= len(t) or t[i] not in self._relation_firsts:
            return
        for phrase, name in self.lexicon.relations.items():
            end = self._phrase(t, i, phrase)
            if end is not None:
                yield name, end

    # ---------------------------------------------------------------- noun phrases

    def _np_set(self, t: list[str], i: int, it: _Context, *, modifiers: bool = True) -> Alternatives:
        """A description of a set of objects: [det] [other] adjectives noun [modifier]."""
        j = self._optional(t, i, *_DETERMINERS)
        j = self._optional(t, j, *_OTHER)
        filters: list[tuple[str, str]] = []
        noun: Any = None
        if j < len(t) and t[j] in _INDEFINITE_NOUNS:
            noun, j = True, self._optional(t, j + 1, "else")
        else:
            while j < len(t):
                head = self.lexicon.noun(t[j])
                if head is not None:
                    noun = head
                    j += 1
                    break
                found = self.lexicon.value(t[j])
                if found is None:
                    return
                filters.append(found)
                j += 1
            if noun is None:
                return
            j = self._optional(t, j, "else")
        if noun is not True:
            filters.append(noun)
        base: Node = ("scene",)
        yield _filtered(base, filters), j
        if not modifiers:
            return
        for clause, end in self._modifier(t, j, it):
            yield _filtered(clause, filters), end

    def _modifier(self, t: list[str], i: int, it: _Context) -> Alternatives:
        """What follows a noun: "that is left of <np>", "left of <np>", "the same colour as <np>"."""
        starts = {i}
        j = self._word(t, i, *_RELATIVE)
        if j is not None:
            starts.add(j)
            k = self._word(t, j, *_COPULA)
            if k is not None:
                starts.add(k)
        k = self._word(t, i, *_COPULA)
        if k is not None:
            starts.add(k)
        if it.node is not None:
            for s in sorted(starts):
                k = self._word(t, s, "share", "shares", "have", "has")
                k = self._word(t, k, "its") if k is not None else None
                found = self._attribute(t, k) if k is not None else None
                if found is not None:
                    yield ("same", found[0], it.node), found[1]
        for s in sorted(starts):
            s2 = self._optional(t, s, "located", "positioned", "standing", "sitting")
            for relation, end in self._relation(t, s2):
                for obj, stop in self._np_obj(t, end, it):
                    yield ("relate", relation, obj), stop
                # "in front of all things": what stands so of every other thing
                every = self._word(t, end, "all", "every")
                every = self._optional(t, every, "other") if every is not None else None
                if every is not None and every < len(t) and self.lexicon.noun(t[every]) is True:
                    yield ("extreme", relation, ("scene",)), every + 1
            for attribute, obj, stop in self._same(t, s, it):
                yield ("same", attribute, obj), stop

    def _same(self, t: list[str], i: int, it: _Context) -> Iterator[tuple[str, Node, int]]:
        """ "[of|with] the same <attribute> as <np>", "made of the same material as <np>"."""
        for attribute, j in self._same_head(t, i):
            k = self._word(t, j, "as")
            if k is None:
                continue
            for obj, stop in self._np_obj(t, k, it):
                yield attribute, obj, stop

    def _same_head(self, t: list[str], i: int) -> Iterator[tuple[str, int]]:
        for phrase, attribute in self.lexicon.asked_as.items():
            j = self._phrase(t, i, phrase)
            if j is not None:
                k = self._words(t, j, "the same")
                if k is not None:
                    found = self._attribute(t, k)
                    yield attribute, (found[1] if found and found[0] == attribute else k)
        j = self._optional(t, i, "of", "with", "in")
        k = self._words(t, j, "the same")
        if k is not None:
            found = self._attribute(t, k)
            if found is not None:
                yield found

    def _np_obj(self, t: list[str], i: int, it: _Context) -> Alternatives:
        """One object: a description that must fit exactly one, or the pronoun, or "the previous
        <description>" (the latest mentioned object it fits)."""
        if it.node is not None and i < len(t) and t[i] in _PRONOUNS:
            yield it.node, i + 1
        if it.mentioned and i + 1 < len(t) and t[i] == "the" and t[i + 1] in _EARLIER:
            for node, end in self._np_set(t, i + 2, it, modifiers=False):
                yield ("latest", _rebase(node, ("mentioned", it.mentioned)), it.mentioned), end
        if i < len(t) and t[i] in ("the", "a", "an"):
            for node, end in self._np_set(t, i, it):
                yield ("unique", node), end

    # ------------------------------------------------------------------ questions

    def _question(self, t: list[str], i: int, it: _Context) -> Alternatives:
        yield from self._there_is(t, i, it)
        yield from self._count(t, i, it)
        yield from self._exist(t, i, it)
        yield from self._compare_attribute(t, i, it)
        yield from self._compare_count(t, i, it)
        yield from self._query(t, i, it)
        yield from self._verify(t, i, it)

    def _there_is(self, t: list[str], i: int, it: _Context) -> Alternatives:
        j = self._words(t, i, "there is") or self._words(t, i, "look at")
        if j is None:
            return
        for obj, k in self._np_obj(t, j, it):
            k2 = self._optional(t, k, ";", ",")
            k2 = self._optional(t, k2, "and", "then", "so")
            if k2 == k:
                continue
            yield from self._question(t, k2, _Context(obj, it.attribute, it.mentioned))

    def _count(self, t: list[str], i: int, it: _Context) -> Alternatives:
        j = (
            self._words(t, i, "how many")
            or self._words(t, i, "what number of")
            or self._words(t, i, "what is the number of")
            or self._words(t, i, "what is the count of")
            or self._words(t, i, "the number of")
            or self._words(t, i, "count the")
        )
        if j is None:
            return
        for tree, k in self._set_predicate(t, j, it):
            end = self._tail(t, k)
            yield ("count", tree), end

    def _tail(self, t: list[str], k: int) -> int:
        for tail in (
            "are there",
            "can you see",
            "do you see",
            "can be seen",
            "are visible",
            "are in the scene",
            "are shown",
            "exist",
            "there are",
            "are",
        ):
            end = self._words(t, k, tail)
            if end is not None and end == len(t):
                return end
        return k

    def _set_predicate(self, t: list[str], i: int, it: _Context) -> Alternatives:
        """A set, or a set restricted by "are both P and Q" / "are either P or Q"."""
        yield from self._np_set(t, i, it)
        for head, j in self._np_set(t, i, it, modifiers=False):
            k = self._optional(t, j, *_RELATIVE)
            k = self._optional(t, k, *_COPULA)
            for word, joiner, op in (
                ("both", "and", "intersect"),
                ("either", "or", "union"),
                (None, "and", "intersect"),
                (None, "or", "union"),
            ):
                start = k if word is None else self._word(t, k, word)
                if start is None:
                    continue
                for first, m in self._predicate(t, start, it):
                    n = self._word(t, m, joiner)
                    if n is None:
                        continue
                    for second, end in self._predicate(t, n, it):
                        yield _rebase(head, (op, first, second)), end

    def _predicate(self, t: list[str], i: int, it: _Context) -> Alternatives:
        for clause, end in self._modifier(t, i, it):
            yield clause, end
        for node, end in self._np_set(t, i, it):
            yield node, end
        # bare values: "(things that are) red", "(either) large dark (or ...)"
        filters, j = self._values(t, self._optional(t, i, "made", "of"))
        if filters:
            yield _filtered(("scene",), filters), j

    def _values(self, t: list[str], i: int) -> tuple[list[tuple[str, str]], int]:
        """The values named from ``i`` on ("large red", "made of wood"), and where they end."""
        filters: list[tuple[str, str]] = []
        j = i
        while j < len(t):
            found = self.lexicon.value(t[j])
            if found is None:
                break
            filters.append(found)
            j += 1
        return filters, j

    def _verify(self, t: list[str], i: int, it: _Context) -> Alternatives:
        """ "Is it red?", "Is the box not made of wood?", "Is the small thing a large ring?" (no);
        "Is the box wood or paper?" asks the material."""
        j = self._word(t, i, "is", "are", "does")
        if j is None:
            return
        for obj, k in self._np_obj(t, j, it):
            k = self._optional(t, k, "look", "looks", "seem", "seems")
            negated = self._word(t, k, "not")
            m = negated if negated is not None else k
            m = self._words(t, m, "made of") or self._optional(t, m, "of")
            m = self._optional(t, m, "a", "an")
            filters, n = self._values(t, m)
            noun = self.lexicon.noun(t[n]) if n < len(t) else None
            if isinstance(noun, tuple):  # "a large box": the noun is a value too
                filters.append(noun)
                n += 1
            elif noun is True and filters:  # "a large thing"
                n += 1
            if not filters:
                continue
            # "wood or paper": the attribute both name is asked
            if len(filters) == 1 and negated is None and self._word(t, n, "or") is not None:
                other = self.lexicon.value(t[n + 1]) if n + 1 < len(t) else None
                if other is not None and other[0] == filters[0][0]:
                    yield ("query", filters[0][0], obj), n + 2
                continue
            check: Node = ("verify", tuple(f"{a}:{v}" for a, v in filters), obj)
            yield (("negate", check) if negated is not None else check), n

    def _exist(self, t: list[str], i: int, it: _Context) -> Alternatives:
        for opener in (
            "are there",
            "is there",
            "does there exist",
            "do there exist",
            "are any",
            "is any",
            "can you see",
            "do you see",
            "can i see",
            "does the scene contain",
            "does the picture contain",
            "does the image contain",
            "does the scene have",
            "does the picture have",
        ):
            j = self._words(t, i, opener)
            if j is None:
                continue
            # "Are there no boxes?" / "Is there not a red box?": the opposite.
            negated = self._word(t, j, "no", "not")
            for tree, end in self._set_predicate(t, j if negated is None else negated, it):
                end = self._optional(t, end, "visible")
                yield (("negate", ("exist", tree)) if negated else ("exist", tree)), end

    def _query(self, t: list[str], i: int, it: _Context) -> Alternatives:
        # what <attribute> is <obj> / which <attribute> is <obj> / what <attribute> does <obj> have
        j = self._word(t, i, "what", "which")
        if j is not None:
            j = (
                self._words(t, j, "kind of")
                or self._words(t, j, "type of")
                or self._words(t, j, "sort of")
                or j
            )
            found = self._attribute(t, j)
            if found is not None:
                attribute, k = found
                k2 = self._word(t, k, "is", "does")
                if k2 is not None:
                    for obj, end in self._np_obj(t, k2, it):
                        end = self._optional(t, end, "have", "made")
                        yield ("query", attribute, obj), end
            # what is the <attribute> of <obj> / what is its <attribute>
            k = self._word(t, j, "is")
            if k is not None:
                m = self._optional(t, k, "the")
                found = self._attribute(t, m)
                if found is not None:
                    attribute, n = found
                    n2 = self._word(t, n, "of")
                    if n2 is not None:
                        for obj, end in self._np_obj(t, n2, it):
                            yield ("query", attribute, obj), end
                if it.node is not None and self._word(t, k, "its") is not None:
                    found = self._attribute(t, k + 1)
                    if found is not None:
                        yield ("query", found[0], it.node), found[1]
                # what is <obj> made of
                for obj, end in self._np_obj(t, k, it):
                    for phrase, attribute in self.lexicon.asked_as.items():
                        stop = self._phrase(t, end, phrase)
                        if stop is not None:
                            yield ("query", attribute, obj), stop
                    if end == len(t) and self.lexicon.class_attribute and obj != it.node:
                        yield ("query", self.lexicon.class_attribute, obj), end
        # (tell me) the <attribute> of <obj>
        found = self._attribute(t, self._optional(t, i, "the"))
        if found is not None and self._word(t, found[1], "of") is not None:
            for obj, end in self._np_obj(t, found[1] + 1, it):
                yield ("query", found[0], obj), end
        # what about its <attribute> / and its <attribute> / how about its <attribute>
        if it.node is not None:
            j = self._words(t, i, "what about") or self._words(t, i, "how about") or self._word(t, i, "and")
            k = self._word(t, j, "its") if j is not None else None
            found = self._attribute(t, k) if k is not None else None
            if found is not None:
                yield ("query", found[0], it.node), found[1]
        yield from self._ellipsis(t, i, it)
        # how big is <obj>
        for phrase, attribute in self.lexicon.asked_as.items():
            j = self._phrase(t, i, phrase)
            if j is not None:
                k = self._word(t, j, "is")
                if k is not None:
                    for obj, end in self._np_obj(t, k, it):
                        yield ("query", attribute, obj), end
        # the <obj> is what <attribute> / the <obj> has what <attribute>
        for obj, j in self._np_obj(t, i, it):
            k = self._word(t, j, "is", "has")
            m = self._word(t, k, "what") if k is not None else None
            if m is not None:
                found = self._attribute(t, m)
                if found is not None:
                    yield ("query", found[0], obj), found[1]
            if k is not None and t[k - 1] == "is":
                for phrase, attribute in self.lexicon.asked_as.items():
                    stop = self._phrase(t, k, phrase)
                    if stop is not None and self._word(t, stop, "what") is not None:
                        yield ("query", attribute, obj), stop + 1 + (self._attribute(t, stop + 1) is not None)

    def _ellipsis(self, t: list[str], i: int, it: _Context) -> Alternatives:
        """ "What about shape?" / "And material?" (another attribute of "it"); "What about the red
        box?" / "And that of the previous small thing?" (the last attribute, of another object)."""
        j = self._words(t, i, "what about") or self._words(t, i, "how about") or self._word(t, i, "and")
        if j is None:
            return
        if it.node is not None:
            found = self._attribute(t, self._optional(t, j, "the"))
            if found is not None:
                yield ("query", found[0], it.node), found[1]
        if it.attribute is not None:
            k = self._words(t, j, "that of") or self._words(t, j, "the one of") or j
            for obj, end in self._np_obj(t, k, it):
                yield ("query", it.attribute, obj), end

    def _compare_attribute(self, t: list[str], i: int, it: _Context) -> Alternatives:
        j = self._word(t, i, "is", "does", "are", "do")
        if j is None:
            return
        # is <a> the same <attribute> as <b> / does <a> have the same <attribute> as <b>
        for a, k in self._np_obj(t, j, it):
            k2 = self._optional(t, k, "have", "has")
            for attribute, m in self._same_head(t, k2):
                n = self._word(t, m, "as")
                if n is None:
                    continue
                for b, end in self._np_obj(t, n, it):
                    yield ("equal", attribute, a, b), end
            # are <a> and <b> the same <attribute> / made of the same material / of the same size
            n = self._word(t, k, "and")
            if n is not None:
                for b, m in self._np_obj(t, n, it):
                    m2 = self._optional(t, m, "have", "has")
                    for attribute, end in self._same_head(t, m2):
                        yield ("equal", attribute, a, b), end
        # is the <attribute> of <a> the same as [the <attribute> of] <b>
        k = self._optional(t, j, "the")
        found = self._attribute(t, k)
        if found is not None:
            attribute, m = found
            n = self._word(t, m, "of")
            if n is not None:
                for a, p in self._np_obj(t, n, it):
                    q = self._words(t, p, "the same as") or self._words(t, p, "equal to")
                    if q is None:
                        continue
                    r = self._words(t, q, "that of") or q
                    s = self._optional(t, r, "the")
                    again = self._attribute(t, s)
                    if again is not None and again[0] == attribute and self._word(t, again[1], "of"):
                        r = again[1] + 1
                    for b, end in self._np_obj(t, r, it):
                        yield ("equal", attribute, a, b), end

    def _compare_count(self, t: list[str], i: int, it: _Context) -> Alternatives:
        j = self._words(t, i, "are there")
        if j is not None:
            for word, op in (("more", "greater_than"), ("fewer", "less_than"), ("less", "less_than")):
                k = self._word(t, j, word)
                if k is None:
                    continue
                for a, m in self._np_set(t, k, it):
                    n = self._word(t, m, "than")
                    if n is None:
                        continue
                    for b, end in self._np_set(t, n, it):
                        yield ("compare", op, a, b), end
            for opener in ("an equal number of", "the same number of", "equally many", "as many"):
                k = self._words(t, j, opener)
                if k is None:
                    continue
                joiner = "as" if opener == "as many" else "and"
                for a, m in self._np_set(t, k, it):
                    n = self._word(t, m, joiner)
                    if n is None:
                        continue
                    for b, end in self._np_set(t, n, it):
                        yield ("compare", "equal_integer", a, b), end
        j = self._words(t, i, "is the number of")
        if j is not None:
            for a, m in self._np_set(t, j, it):
                for phrase, op in (
                    ("greater than", "greater_than"),
                    ("more than", "greater_than"),
                    ("larger than", "greater_than"),
                    ("less than", "less_than"),
                    ("fewer than", "less_than"),
                    ("smaller than", "less_than"),
                    ("the same as", "equal_integer"),
                    ("equal to", "equal_integer"),
                ):
                    n = self._words(t, m, phrase)
                    if n is None:
                        continue
                    n = self._words(t, n, "the number of") or n
                    for b, end in self._np_set(t, n, it):
                        yield ("compare", op, a, b), end


def _filtered(base: Node, filters: list[tuple[str, str]]) -> Node:
    node = base
    for attribute, value in filters:
        node = ("filter", attribute, value, node)
    return node


def _rebase(head: Node, base: Node) -> Node:
    """``head`` (filters over the scene) with the scene replaced by ``base``."""
    if head[0] == "scene":
        return base
    return ("filter", head[1], head[2], _rebase(head[3], base))


def _linear(tree: Node) -> list[dict[str, Any]]:
    """A tree as CLEVR's list of nodes."""
    program: list[dict[str, Any]] = []

    def emit(kind: str, inputs: list[int], side: list[str] | None = None) -> int:
        node: dict[str, Any] = {"type": kind, "inputs": inputs}
        if side:
            node["side_inputs"] = side
        program.append(node)
        return len(program) - 1

    def walk(node: Node) -> int:
        kind = node[0]
        if kind == "scene":
            return emit("scene", [])
        if kind == "refer":
            return emit("refer", [], [str(node[1])])
        if kind == "extreme":
            return emit("extreme", [walk(node[2])], [node[1]])
        if kind == "mentioned":
            return emit("mentioned", [], [",".join(map(str, node[1]))])
        if kind == "latest":
            return emit("latest", [walk(node[1])], [",".join(map(str, node[2]))])
        if kind == "filter":
            return emit(f"filter_{node[1]}", [walk(node[3])], [node[2]])
        if kind == "unique":
            return emit("unique", [walk(node[1])])
        if kind == "relate":
            return emit("relate", [walk(node[2])], [node[1]])
        if kind == "same":
            return emit(f"same_{node[1]}", [walk(node[2])])
        if kind in ("union", "intersect"):
            return emit(kind, [walk(node[1]), walk(node[2])])
        if kind in ("count", "exist"):
            return emit(kind, [walk(node[1])])
        if kind == "query":
            return emit(f"query_{node[1]}", [walk(node[2])])
        if kind == "verify":
            return emit("verify", [walk(node[2])], list(node[1]))
        if kind == "negate":
            return emit("negate", [walk(node[1])])
        if kind == "equal":
            a = emit(f"query_{node[1]}", [walk(node[2])])
            b = emit(f"query_{node[1]}", [walk(node[3])])
            return emit(f"equal_{node[1]}", [a, b])
        if kind == "compare":
            a = emit("count", [walk(node[2])])
            b = emit("count", [walk(node[3])])
            return emit(node[1], [a, b])
        raise AssertionError(kind)

    walk(tree)
    return program
