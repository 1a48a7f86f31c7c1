"""The limits on what mmreason reads, in one place: each is checked before the work it bounds, and
refused with an error that names the input and quotes at most :data:`QUOTE_CHARS` of it.

=============================  ===================  ==============================================
limit                          value                why this size
=============================  ===================  ==============================================
``MAX_QUESTION_CHARS``         1,000 characters     a question of ten sentences; embeddings read 64 tokens
``QUOTE_CHARS``                80 characters        what an error quotes of any user text
``MAX_TOML_BYTES``             4 MiB                scenario, manifest and bindings files: the
                                                     bundled ones are 3 KB
``MAX_LABEL_ROWS``             2,000,000 rows       a labels CSV: 100 facts for each of 20,000 images
``MAX_IMAGE_PIXELS``           40,000,000 pixels    a 40 MP photo (120 MB as RGB); checked from the
                                                     header, before any pixel is decoded
``MAX_RDF_TERM``               16 MiB               one IRI or literal: pyoxigraph's token buffer
``MAX_SPARQL_RESPONSE_BYTES``  256 MiB              one answer of a SPARQL endpoint, read in chunks
=============================  ===================  ==============================================

The limits of SCM files (file size, variables, expression length and depth) are in
:mod:`mmreason.causal.limits`; ``docs/limits.md`` lists them all.
"""

from __future__ import annotations

__all__ = [
    "MAX_IMAGE_PIXELS",
    "MAX_LABEL_ROWS",
    "MAX_QUESTION_CHARS",
    "MAX_RDF_TERM",
    "MAX_SPARQL_RESPONSE_BYTES",
    "MAX_TOML_BYTES",
    "QUOTE_CHARS",
    "quote",
]

MAX_QUESTION_CHARS = 1_000
QUOTE_CHARS = 80
MAX_TOML_BYTES = 4 * 2**20
MAX_LABEL_ROWS = 2_000_000
MAX_IMAGE_PIXELS = 40_000_000
MAX_RDF_TERM = 16 * 2**20
MAX_SPARQL_RESPONSE_BYTES = 256 * 2**20


def quote(text: object, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of ``text``, cut to ``limit`` characters with an ellipsis and the full length.

    >>> quote("a" * 100, limit=5)
    "'aaaaa…' (100 characters)"
    >>> quote("short")
    "'short'"
    """
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}"[:-1] + f"…' ({len(text)} characters)"
