import pytest

import mmreason
from mmreason import errors


def _leaf_classes():
    return [
        getattr(errors, name)
        for name in errors.__all__
        if isinstance(getattr(errors, name), type) and getattr(errors, name) is not errors.MmreasonError
    ]


@pytest.mark.parametrize("cls", _leaf_classes(), ids=lambda c: c.__name__)
def test_every_error_is_an_mmreason_error_and_exported(cls):
    assert issubclass(cls, errors.MmreasonError)
    assert getattr(mmreason, cls.__name__) is cls


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InvalidInputError, ValueError),
        (errors.GraphParseError, ValueError),
        (errors.QueryError, ValueError),
        (errors.ScmSpecError, ValueError),
        (errors.ImageError, ValueError),
        (errors.VideoError, ValueError),
        (errors.QuestionNotUnderstoodError, ValueError),
        (errors.WorldError, ValueError),
        (errors.UnknownVariableError, KeyError),
        (errors.UnknownNameError, KeyError),
        (errors.UnknownEntityError, KeyError),
        (errors.MissingDependencyError, ImportError),
        (errors.MissingFileError, FileNotFoundError),
        (errors.ModelLoadError, OSError),
        (errors.EndpointError, ConnectionError),
        (errors.DeviceUnavailableError, RuntimeError),
    ],
)
def test_leaves_subclass_the_builtin_they_behave_like(cls, builtin):
    assert issubclass(cls, builtin)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: errors.UnknownVariableError("Rian", ["Rain", "Cloudy"]),
            "variable 'Rian' is not in the model; did you mean 'Rain'?",
        ),
        (lambda: errors.UnknownVariableError("Zzz", ["Rain"]), "variable 'Zzz' is not in the model"),
        (
            lambda: errors.UnknownNameError("decoder", "distmul", ["distmult", "complex", "rotate"]),
            "unknown decoder 'distmul'; did you mean 'distmult'?; choose one of: complex, distmult, rotate",
        ),
        (lambda: errors.GraphParseError("bad token", path="g.ttl", line=7), "g.ttl:7: bad token"),
        (
            lambda: errors.ScmSpecError("cycle A -> B -> A", path="m.scm.toml", variable="A"),
            "m.scm.toml: variable 'A': cycle A -> B -> A",
        ),
        (
            lambda: errors.ScmSpecError("unexpected ')'", path="m.toml", line=3, column=9),
            "m.toml:3:9: unexpected ')'",
        ),
        (lambda: errors.MissingFileError("x.ttl", what="graph"), "graph not found: x.ttl"),
        (
            lambda: errors.QuestionNotUnderstoodError("Paint it", ["What colour is the car?"]),
            "question not understood: 'Paint it'; closest supported forms: 'What colour is the car?'",
        ),
    ],
)
def test_messages_name_what_was_wrong(make, expected):
    assert str(make()) == expected


def test_key_error_leaves_are_caught_as_key_errors():
    with pytest.raises(KeyError, match="did you mean 'Rain'"):
        raise errors.UnknownVariableError("Rian", ["Rain"])
