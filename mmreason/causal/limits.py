"""The limits on SCM files and their equations, in one place.

Each is checked before the work it bounds: a file's size before it is read, its variable
count before any variable is built, an equation's length, tokens and nesting as it is
read. A file past a limit is refused with a :class:`~mmreason.ScmSpecError` that names the
file (and the variable) and quotes at most :data:`~mmreason.limits.QUOTE_CHARS` characters
of the text it refuses. The limits of everything else mmreason reads are in
:mod:`mmreason.limits`.

==========================  ===================  ===============================================
limit                       value                why this size
==========================  ===================  ===============================================
``MAX_SCM_BYTES``           8 MiB                some 30,000 variables at the bundled files'
                                                 250-300 bytes each; read in ~3 s
``MAX_VARIABLES``           20,000               ten times a large generated model
``MAX_EQUATION_CHARS``      50,000 characters    a linear equation over 2,000 parents
``MAX_EQUATION_TOKENS``     20,000 tokens        bounds the AST nodes evaluated per world
``MAX_NESTING``             64 levels            keeps the recursive parser far inside Python's
                                                 recursion limit; hand-written equations nest <10
``MAX_NAME_CHARS``          200 characters       names are identifiers, quoted in full in errors
``MAX_NOISE_PARAMETER``     1e100                keeps every noise draw, width, density finite
``MAX_FIT_BYTES``           64 MiB               a data file a mechanism is fitted from: a
                                                 million rows of tens of columns
==========================  ===================  ===============================================

>>> shown(list(range(100)), limit=10)
'[0, 1, 2, … (390 characters)'
"""

from __future__ import annotations

from mmreason.limits import QUOTE_CHARS, quote

__all__ = [
    "MAX_EQUATION_CHARS",
    "MAX_EQUATION_TOKENS",
    "MAX_FIT_BYTES",
    "MAX_NAME_CHARS",
    "MAX_NESTING",
    "MAX_NOISE_PARAMETER",
    "MAX_SCM_BYTES",
    "MAX_VARIABLES",
    "QUOTE_CHARS",
    "quote",
    "shown",
]

# An SCM file, in bytes (in characters for TOML text given as a string). The bundled files
# take 250-300 bytes per variable (the largest: 3 KB for 12 variables), so 8 MiB holds
# some 30,000 such variables, ten times the few thousand of a large generated model.
# Python's TOML reader runs at about 3 MB/s, so a file at the limit is read in ~3 s; a
# larger one is refused from its size alone, before a byte is read.
MAX_SCM_BYTES = 8 * 2**20

# Endogenous plus declared exogenous variables, counted before any is built. A model of a
# few thousand variables loads in about a second; 20,000 leaves room for generated models
# while bounding the work a file can ask for (every mechanism runs once at load time).
MAX_VARIABLES = 20_000

# One equation, in characters. A linear equation over 2,000 parents written out as
# `0.123456 * Parent_0123 + ...` takes some 50,000 characters; the longest bundled equation
# takes 77.
MAX_EQUATION_CHARS = 50_000

# One equation, in tokens (numbers, names, operators, parentheses). Every AST node comes
# from at least one token, so this bounds the nodes evaluated per world; the 2,000-parent
# linear equation above has 8,000.
MAX_EQUATION_TOKENS = 20_000

# Nesting of parentheses, unary operators, `**` exponents, `if ... else` chains and function
# arguments. The parser descends recursively, up to six Python frames per level: 64 levels
# stay far inside Python's default recursion limit of 1,000 even when called from a deep
# stack, and far beyond hand-written equations (the bundled ones nest at most 3 deep).
# Long flat chains (`a + b + ...`, `a or b or ...`) do not nest: the parser reads them in a
# loop and the evaluator walks the AST with an explicit stack; only the token count bounds them.
MAX_NESTING = 64

# A variable, exogenous variable or constant name, in characters. Names are identifiers,
# quoted in full by error messages; none written by hand comes near 200.
MAX_NAME_CHARS = 200

# The magnitude of an exogenous distribution's parameters (mean, std, low, high). Far past
# any physical quantity, and small enough that every draw, width and density stays finite
# in float64 (a uniform on [-1e308, 1e308] would have an infinite width).
MAX_NOISE_PARAMETER = 1e100
MAX_FIT_BYTES = 64 * 2**20


def shown(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of any value (a list, a number), cut as :func:`~mmreason.limits.quote` cuts text."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"
