"""Where the bundled worlds, graphs and scenarios live, and reading the TOML files among them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mmreason.errors import InvalidInputError, MissingFileError

__all__ = ["bundled_graphs_dir", "bundled_scenarios_dir", "project_root", "read_toml"]

_PACKAGE = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout that holds ``graphs/`` and ``scenarios/`` beside the package."""
    return _PACKAGE.parent


def bundled_graphs_dir() -> Path:
    """The bundled worlds (``graphs/<world>/``) and textbook SCM files (``graphs/``)."""
    return project_root() / "graphs"


def bundled_scenarios_dir() -> Path:
    """The shipped what-if scenarios and their images (``scenarios/``)."""
    return project_root() / "scenarios"


def read_toml(
    path: str | Path, *, what: str, error: type[InvalidInputError] = InvalidInputError
) -> dict[str, Any]:
    """The tables of a TOML file.

    A missing file raises MissingFileError naming ``what``; text that is not TOML raises ``error``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what=what)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}): a {what} is TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
