"""Where the bundled worlds, graphs and scenarios live, and reading the TOML files among them.

They are package data (``mmreason/bundled/``), found with :mod:`importlib.resources`, so an
installed wheel carries them; the repository's top-level ``graphs/`` and ``scenarios/`` are
symbolic links to them, where a reader of the checkout finds them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mmreason.errors import InvalidInputError, MissingFileError
from mmreason.limits import MAX_TOML_BYTES

__all__ = ["bundled_graphs_dir", "bundled_scenarios_dir", "read_toml"]


def _bundled() -> Path:
    from importlib.resources import files

    # A wheel is installed as files on disk, so the resource is a real folder.
    return Path(str(files("mmreason") / "bundled"))


def bundled_graphs_dir() -> Path:
    """The bundled worlds (``graphs/<world>/``) and textbook SCM files (``graphs/``)."""
    return _bundled() / "graphs"


def bundled_scenarios_dir() -> Path:
    """The shipped what-if scenarios and their images (``scenarios/``)."""
    return _bundled() / "scenarios"


def read_toml(
    path: str | Path,
    *,
    what: str,
    error: type[InvalidInputError] = InvalidInputError,
    max_bytes: int = MAX_TOML_BYTES,
) -> dict[str, Any]:
    """The tables of a TOML file.

    A missing file raises MissingFileError naming ``what``; a file over ``max_bytes``, text that is
    not UTF-8 or not TOML raises ``error``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what=what)
    size = path.stat().st_size
    if size > max_bytes:
        raise error(f"{path}: {size:,} bytes; a {what} may hold at most {max_bytes:,} (docs/limits.md)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}): a {what} is TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise error(f"{path}: arrays or tables nested too deep to read") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise error(f"{path}: a value that cannot be read: {exc}") from None
