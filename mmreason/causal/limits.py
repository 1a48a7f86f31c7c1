"""How large an SCM file and its equations may be: every limit in one place.

A file past a limit is refused with a :class:`~mmreason.ScmSpecError` before the work it
would cost is done: the size before the file is read, the variable count before any
variable is built, an equation's length, tokens and nesting before it is parsed further.
Each limit is generous for hand-written and generated models alike; the reasons are
given with each number. An error quotes at most :data:`QUOTE_CHARS` characters of the
text it refuses.

>>> quote("x" * 100)[-12:]
"x… (100 chars)'"
"""

from __future__ import annotations

__all__ = [
    "MAX_EQUATION_CHARS",
    "MAX_EQUATION_TOKENS",
    "MAX_NESTING",
    "MAX_SCM_BYTES",
    "MAX_VARIABLES",
    "QUOTE_CHARS",
    "quote",
]

# An SCM file, in bytes (in characters for TOML text given as a string). The bundled files
# take 250-300 bytes per variable (crossing.scm.toml: 3 KB for 12 variables), so 8 MiB holds
# some 30,000 such variables, ten times the few thousand a large generated model has.
# Python's TOML reader runs at about 3 MB/s, so a file at the limit is read in ~3 s.
MAX_SCM_BYTES = 8 * 1024 * 1024

# Endogenous plus declared exogenous variables. A model of a few thousand variables loads
# in seconds; 20,000 leaves room for generated models while bounding the work a file can
# ask for (every mechanism is run once at load time).
MAX_VARIABLES = 20_000

# One equation, in characters. A linear equation over 1,000 parents written out as
# `0.123456 * Parent_0123 + ...` takes some 25,000 characters; the longest bundled equation
# takes 77.
MAX_EQUATION_CHARS = 50_000

# One equation, in tokens (numbers, names, operators, parentheses): every AST node comes
# from at least one token, so this bounds the nodes evaluated per world. 20,000 tokens hold
# the 1,000-parent linear equation above four times over.
MAX_EQUATION_TOKENS = 20_000

# Nesting of parentheses, unary operators, `**` and `if ... else` chains. The parser
# descends recursively, up to five Python frames per level; 64 levels stay far inside
# Python's default recursion limit of 1,000 even when called from deep stacks, and far
# beyond hand-written equations (the bundled ones nest at most 3 deep). Long flat chains
# (`a + b + ...`, `a or b or ...`) do not nest: they are limited only by the token count.
MAX_NESTING = 64

# How much of an offending text (an equation, a token, a value) an error message quotes.
QUOTE_CHARS = 80


def quote(text: object, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of ``text`` cut to ``limit`` characters, saying how long the whole was.

    >>> quote("1 / 0")
    "'1 / 0'"
    """
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return repr(f"{text[:limit]}… ({len(text)} chars)")
