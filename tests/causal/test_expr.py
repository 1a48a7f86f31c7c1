"""The equation language: known values, precedence, errors with columns, nothing executed."""

from __future__ import annotations

import math

import pytest
import torch

from mmreason.causal.expr import Categorical, ExprEvalError, ExprSyntaxError, additive_terms, evaluate, parse


def value(text: str, **env: float) -> float:
    tensors = {k: torch.tensor([v], dtype=torch.float64) for k, v in env.items()}
    out = evaluate(parse(text), tensors)
    if isinstance(out, torch.Tensor):
        return float(out.to(torch.float64).reshape(-1)[0])
    return float(out)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("1 + 2 * 3", {}, 7.0),
        ("(1 + 2) * 3", {}, 9.0),
        ("2 ** 3 ** 2", {}, 512.0),
        ("-2 ** 2", {}, -4.0),
        ("10 - 4 - 3", {}, 3.0),
        ("7 % 3", {}, 1.0),
        ("x / 4", {"x": 2.0}, 0.5),
        ("1 < 2 and 2 < 1", {}, 0.0),
        ("1 < 2 or 2 < 1", {}, 1.0),
        ("not x", {"x": 0.0}, 1.0),
        ("not 1 == 1", {}, 0.0),
        ("a or b and c", {"a": 1.0, "b": 0.0, "c": 0.0}, 1.0),
        ("3 if x > 1 else 4", {"x": 2.0}, 3.0),
        ("3 if x > 1 else 4", {"x": 0.5}, 4.0),
        ("1 if x < 0 else 2 if x < 1 else 3", {"x": 0.5}, 2.0),
        ("min(x, 2, 3)", {"x": 5.0}, 2.0),
        ("max(x, 2)", {"x": 5.0}, 5.0),
        ("sqrt(x)", {"x": 9.0}, 3.0),
        ("exp(0) + log(e)", {}, 2.0),
        ("abs(-x)", {"x": 1.5}, 1.5),
        ("clip(x, 0, 1)", {"x": 3.0}, 1.0),
        ("pow(2, 10)", {}, 1024.0),
        ("floor(2.7) + ceil(2.1)", {}, 5.0),
        ("sigmoid(0)", {}, 0.5),
        ("2 * pi", {}, 2 * math.pi),
        ("1.5e2 + .5", {}, 150.5),
        ("true + false", {}, 1.0),
    ],
)
def test_known_values(text, env, expected):
    assert value(text, **env) == pytest.approx(expected)


def test_strings_compare_by_category_and_give_target_values():
    weather = Categorical(torch.tensor([0, 2, 1]), ("clear", "cloudy", "rain"))
    out = evaluate(
        parse('"wet" if Weather == "rain" else "dry"'), {"Weather": weather}, target_domain=("dry", "wet")
    )
    assert isinstance(out, Categorical)
    assert out.codes.tolist() == [0, 1, 0]
    assert evaluate(parse('Weather != "clear"'), {"Weather": weather}).tolist() == [False, True, True]


@pytest.mark.parametrize(
    ("text", "column", "match"),
    [
        ("1 +", 4, "expected a value"),
        ("(1 + 2", 7, r"expected '\)'"),
        ("a $ b", 3, "unexpected character"),
        ("__import__('os')", 1, "unknown function"),
        ("exec(1)", 1, "unknown function"),
        ("1 < x < 2", 7, "chained comparisons"),
        ("x if y", 7, "expected 'else'"),
        ("'open", 1, "unterminated string"),
        ("sqrt(1, 2)", 1, "takes 1 argument"),
        ("", 1, "empty equation"),
        ("a b", 3, "unexpected 'b'"),
    ],
)
def test_syntax_errors_give_the_column(text, column, match):
    with pytest.raises(ExprSyntaxError, match=match) as info:
        parse(text)
    assert info.value.position + 1 == column


@pytest.mark.parametrize(
    ("text", "env", "match"),
    [
        ('W == "snow"', {"W": Categorical(torch.tensor([0]), ("clear", "rain"))}, "not one of the values"),
        ("W + 1", {"W": Categorical(torch.tensor([0]), ("clear", "rain"))}, "needs numbers"),
        ("missing + 1", {}, "unknown name"),
    ],
)
def test_evaluation_errors(text, env, match):
    with pytest.raises(ExprEvalError, match=match):
        evaluate(parse(text), env)


def test_additive_terms_find_the_noise_with_its_sign():
    terms = additive_terms(parse("a - (b + U) + c * d"))
    names = [(sign, getattr(term, "name", None)) for sign, term in terms]
    assert names == [(1, "a"), (-1, "b"), (-1, "U"), (1, None)]


def test_evaluation_is_vectorised():
    x = torch.linspace(0, 1, 1000, dtype=torch.float64)
    out = evaluate(parse("x ** 2 + 1 if x > 0.5 else -x"), {"x": x})
    assert torch.allclose(out, torch.where(x > 0.5, x**2 + 1, -x))
