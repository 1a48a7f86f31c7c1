"""The errors mmreason raises on purpose.

Every error is a :class:`MmreasonError`; each leaf also subclasses the builtin
it behaves like, so an ordinary ``except ValueError`` or ``except KeyError``
still catches it::

    MmreasonError
    ├── InvalidInputError (ValueError)            bad argument, file content or setting
    │   ├── GraphParseError                       malformed RDF: file and line
    │   ├── QueryError                            SPARQL that does not parse or run: position
    │   ├── ScmSpecError                          an SCM file refused: file, variable, reason
    │   ├── ImpossibleEvidenceError               evidence with probability 0 under the model
    │   ├── ImageError                            not an image, truncated, too large, bad mode
    │   ├── VideoError                            not a video, damaged, no frames, mixed sizes, VFR
    │   ├── ScenarioError                         a what-if scenario file refused
    │   ├── WorldError                            a world folder refused: manifest file, line, key
    │   └── QuestionNotUnderstoodError            a question outside the grammar
    ├── UnknownVariableError (KeyError)           a name that is not in the model
    ├── UnknownNameError (KeyError)               a registry key or a name on the command line
    ├── UnknownEntityError (KeyError)             an entity or relation a trained model never saw
    ├── MissingFileError (FileNotFoundError)      a file the caller named does not exist
    ├── ModelLoadError (OSError)                  a checkpoint missing, corrupt, or for another graph
    ├── MissingDependencyError (ImportError)      an optional package a feature needs is not installed
    ├── EndpointError (ConnectionError)           a SPARQL endpoint cannot be reached in time
    └── DeviceUnavailableError (RuntimeError)     a device was asked for that this machine lacks
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "DeviceUnavailableError",
    "EndpointError",
    "GraphParseError",
    "ImageError",
    "ImpossibleEvidenceError",
    "InvalidInputError",
    "MissingDependencyError",
    "MissingFileError",
    "MmreasonError",
    "ModelLoadError",
    "QueryError",
    "QuestionNotUnderstoodError",
    "ScenarioError",
    "ScmSpecError",
    "UnknownEntityError",
    "UnknownNameError",
    "UnknownVariableError",
    "VideoError",
    "WorldError",
]


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


class MmreasonError(Exception):
    """Base of every error mmreason raises on purpose."""


class InvalidInputError(MmreasonError, ValueError):
    """An argument, a file's content or a setting that mmreason refuses."""


class GraphParseError(InvalidInputError):
    """RDF that does not parse; the message names the file and the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = path or "<data>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class QueryError(InvalidInputError):
    """A SPARQL query or update that does not parse or cannot run."""


class ScmSpecError(InvalidInputError):
    """An SCM file or specification that is refused; names the file, variable and reason."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        variable: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.variable = variable
        self.line = line
        self.column = column
        parts = []
        if path:
            parts.append(path if line is None else f"{path}:{line}" + (f":{column}" if column else ""))
        if variable:
            parts.append(f"variable {variable!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ImpossibleEvidenceError(InvalidInputError):
    """Evidence that has probability 0 under the model; conditioning on it is undefined."""


class ImageError(InvalidInputError):
    """An input that is not a usable image (not an image, truncated, too large, unsupported mode)."""


class VideoError(InvalidInputError):
    """A file that is not a usable video: not a video, damaged or truncated, no video stream, no
    frames, mixed frame sizes or a variable frame rate; or a clip that cannot be written."""


class ScenarioError(InvalidInputError):
    """A what-if scenario file that is refused; names the file and the field."""


class WorldError(InvalidInputError):
    """A world folder that is refused; names the manifest (or labels file), the line and the key."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, key: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        super().__init__(message)


class QuestionNotUnderstoodError(InvalidInputError):
    """A question outside the supported grammar; lists the closest supported forms."""

    def __init__(self, question: str, suggestions: Sequence[str] = ()) -> None:
        self.question = question
        self.suggestions = tuple(suggestions)
        from mmreason.limits import quote

        hint = ""
        if self.suggestions:
            hint = "; closest supported forms: " + "; ".join(repr(s) for s in self.suggestions)
        super().__init__(f"question not understood: {quote(question)}{hint}")


class _KeyErrorMessage(KeyError):
    # KeyError.__str__ shows the repr of its argument; show the message as written.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownVariableError(MmreasonError, _KeyErrorMessage):
    """A variable name that is not in the model."""

    def __init__(self, name: str, known: Iterable[str], *, where: str = "the model") -> None:
        self.name = name
        known = list(known)
        self.known = tuple(known)
        super().__init__(f"variable {name!r} is not in {where}{_did_you_mean(name, known)}")


class UnknownNameError(MmreasonError, _KeyErrorMessage):
    """A name that is not among the choices (a registry key, a sub-command option)."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        self.name = name
        self.choices = tuple(sorted(str(c) for c in choices))
        super().__init__(
            f"unknown {kind} {name!r}{_did_you_mean(name, self.choices)}; "
            f"choose one of: {', '.join(self.choices)}"
        )


class UnknownEntityError(MmreasonError, _KeyErrorMessage):
    """An entity or relation that a trained model did not see when it was trained."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, where: str = "the model") -> None:
        self.kind = kind
        self.name = name
        known = [str(k) for k in known]
        super().__init__(
            f"{kind} {name!r} was not seen when {where} was trained ({len(known)} known)"
            f"{_did_you_mean(name, known)}"
        )


class MissingFileError(MmreasonError, FileNotFoundError):
    """A file the caller named does not exist."""

    def __init__(self, path: object, *, what: str = "file") -> None:
        self.path = str(path)
        super().__init__(f"{what} not found: {self.path}")

    def __str__(self) -> str:
        return str(self.args[0])


class MissingDependencyError(MmreasonError, ImportError):
    """An optional package that a feature needs is not installed; the message names it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelLoadError(MmreasonError, OSError):
    """A checkpoint that is missing, corrupt, or was made for another graph."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EndpointError(MmreasonError, ConnectionError):
    """A SPARQL endpoint that cannot be reached, or did not answer in time."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DeviceUnavailableError(MmreasonError, RuntimeError):
    """A device was asked for that this machine does not have."""
