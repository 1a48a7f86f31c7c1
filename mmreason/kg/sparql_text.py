"""SPARQL text helpers: a prefix prologue, and bound values as a ``VALUES`` block.

A backend that can only send text (a remote SPARQL endpoint, a batched
update) binds values by placing a ``VALUES`` block at the start of the
outermost group of the query's ``WHERE`` clause::

    SELECT ?x WHERE { ?x rdfs:label ?name }          name=Literal("car")
    SELECT ?x WHERE { VALUES (?name) { ("car") } ?x rdfs:label ?name }

The block holds only terms written by :func:`mmreason.kg.terms.sparql_term`
(IRIs checked, literals escaped by rdflib), so a bound value can never close
the string, the group or the query. The user's query text is scanned, never
rewritten: the block is inserted after the ``{`` that opens the ``WHERE``
group, found by a lexer that skips strings, IRIs and comments.

>>> from rdflib import Literal
>>> with_values("SELECT ?x WHERE { ?x ?p ?name }", {"name": Literal("a")})
'SELECT ?x WHERE { VALUES (?name) { ("a") } ?x ?p ?name }'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mmreason.errors import QueryError
from mmreason.kg.terms import Term, sparql_term

__all__ = ["expand_delete_where", "prologue", "values_block", "where_group_start", "with_values"]

_TOKEN = re.compile(
    r"""
      (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                 |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
    | (?P<open>\{) | (?P<close>\}) | (?P<lparen>\() | (?P<rparen>\))
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def prologue(prefixes: Mapping[str, str]) -> str:
    """``PREFIX`` declarations for the given prefix → namespace map."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())


def values_block(bindings: Mapping[str, Term]) -> str:
    """``VALUES (?a ?b) { (term term) }`` for one row of bound values."""
    names = " ".join(f"?{name}" for name in bindings)
    terms = " ".join(sparql_term(term, name=f"binding {name!r}") for name, term in bindings.items())
    return f"VALUES ({names}) {{ ({terms}) }}"


def where_group_start(text: str) -> int:
    """Index just after the ``{`` that opens the ``WHERE`` group of a query or update.

    That is the first ``{`` outside parentheses, except after ``CONSTRUCT`` (not
    followed by ``WHERE``), ``INSERT`` or ``DELETE``, whose template group is skipped.

    Raises:
        QueryError: the text has no ``WHERE`` group.
    """
    depth_paren = 0
    skip_template = False
    template_depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("string", "iri", "comment"):
            continue
        if kind == "word":
            word = match.group().upper()
            if word in ("INSERT", "DELETE", "CONSTRUCT"):
                skip_template = True
            elif word == "WHERE" and template_depth == 0:
                skip_template = False
            continue
        if kind == "lparen":
            depth_paren += 1
        elif kind == "rparen":
            depth_paren -= 1
        elif kind == "open" and depth_paren == 0:
            if template_depth:
                template_depth += 1
            elif skip_template:
                template_depth = 1
            else:
                return match.end()
        elif kind == "close" and template_depth:
            template_depth -= 1
            if template_depth == 0:
                skip_template = False
    raise QueryError("cannot bind values: the query has no WHERE group ({ ... }) to bind them in")


def with_values(text: str, bindings: Mapping[str, Term]) -> str:
    """The query with a ``VALUES`` block for ``bindings`` at the start of its ``WHERE`` group."""
    if not bindings:
        return text
    # DELETE WHERE takes a quad pattern, where VALUES is not allowed: use the long form.
    text = expand_delete_where(text)
    at = where_group_start(text)
    return f"{text[:at]} {values_block(bindings)}{text[at:]}"


def expand_delete_where(text: str) -> str:
    """Rewrite each ``DELETE WHERE { P }`` as the equivalent ``DELETE { P } WHERE { P }``.

    rdflib's ``DELETE WHERE`` takes ``GRAPH ?g`` for a graph literally named ``?g``;
    the long form is evaluated correctly.

    >>> expand_delete_where("DELETE WHERE { GRAPH ?g { ?s ?p 1 } }")
    'DELETE { GRAPH ?g { ?s ?p 1 } } WHERE { GRAPH ?g { ?s ?p 1 } }'
    """
    tokens = [m for m in _TOKEN.finditer(text) if m.lastgroup not in ("comment",) and not m.group().isspace()]
    out, last = [], 0
    for i in range(len(tokens) - 2):
        first, second, brace = tokens[i], tokens[i + 1], tokens[i + 2]
        if (
            first.lastgroup == "word"
            and first.group().upper() == "DELETE"
            and second.lastgroup == "word"
            and second.group().upper() == "WHERE"
            and brace.lastgroup == "open"
        ):
            depth, end = 0, None
            for token in tokens[i + 2 :]:
                if token.lastgroup == "open":
                    depth += 1
                elif token.lastgroup == "close":
                    depth -= 1
                    if depth == 0:
                        end = token.end()
                        break
            if end is None:
                return text
            group = text[brace.start() : end]
            out.append(text[last : first.start()])
            out.append(f"DELETE {group} WHERE {group}")
            last = end
    out.append(text[last:])
    return "".join(out)
