"""The equation language: known values, precedence, errors with columns, nothing executed."""

from __future__ import annotations

import math

import pytest
import torch

from mmreason.causal.expr import Categorical, ExprEvalError, ExprSyntaxError, additive_terms, evaluate, parse
from mmreason.causal.limits import MAX_EQUATION_CHARS, MAX_EQUATION_TOKENS, MAX_NESTING


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


# ---------------------------------------------------------------- hostile text, IEEE arithmetic (#12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10 ** 10 ** 10", "gives inf: 10 ** 1e+10 = inf"),
        ("1 / 0", "gives inf: 1 / 0 = inf"),
        ("0 % 0", "gives nan: 0 % 0 = nan"),
        ("(-8) ** 0.5", "gives nan: (-8) ** 0.5 = nan"),
        ("log(0) + 1", "gives -inf: log(0) = -inf"),
        ("exp(710) - exp(710)", "gives nan: exp(710) = inf"),
        ("1 if sqrt(-1) > 0 else 2", "gives nan: sqrt(-1) = nan"),
    ],
)
def test_constants_follow_ieee_and_a_non_finite_answer_names_its_cause(text, message):
    with pytest.raises(ExprEvalError) as info:
        evaluate(parse(text), {})
    assert str(info.value) == message


def test_a_vectorised_failure_names_one_world_and_counts_them():
    x = torch.tensor([4.0, -1.0, -2.0, 9.0], dtype=torch.float64)
    with pytest.raises(ExprEvalError) as info:
        evaluate(parse("1 + sqrt(x)"), {"x": x})
    assert str(info.value) == "gives nan in 2 of 4 worlds, e.g. where x=-1: sqrt(-1) = nan"


def test_broadcast_worlds_name_every_input():
    b = torch.tensor([[0.0], [1.0]], dtype=torch.float64)  # [2, 1]: enumerated
    u = torch.tensor([[0.5, -0.5, 2.0]], dtype=torch.float64)  # [1, 3]: sampled
    with pytest.raises(ExprEvalError) as info:
        evaluate(parse("log(u) if b == 1 else 0"), {"b": b, "u": u})
    assert str(info.value) == "gives nan in 1 of 6 worlds, e.g. where b=1, u=-0.5: log(-0.5) = nan"


@pytest.mark.parametrize(
    "text",
    [
        "sqrt(x) if x >= 0 else 0",
        "x < 0 or log(x) > -10",
        "x >= 0 and sqrt(x) < 10",
        "not (x >= 0 and sqrt(x) > 10)",
        "min(exp(1000), 1) + x",  # inf is a fine intermediate
        "(1 / 0) > x",
    ],
)
def test_guards_keep_undefined_values_out_of_the_answer(text):
    x = torch.tensor([4.0, -1.0, 0.0], dtype=torch.float64)
    out = evaluate(parse(text), {"x": x})
    assert torch.isfinite(out.to(torch.float64)).all()


def test_a_string_result_decided_by_nan_is_refused():
    x = torch.tensor([1.0, -1.0], dtype=torch.float64)
    with pytest.raises(
        ExprEvalError, match=r"gives a value decided by nan in 1 of 2 worlds.*sqrt\(-1\) = nan"
    ):
        evaluate(parse('"wet" if sqrt(x) > 0 else "dry"'), {"x": x}, target_domain=("dry", "wet"))


def test_integer_codes_compute_in_float64_without_wrapping_or_raising():
    codes = torch.tensor([0, 2], dtype=torch.long)
    assert evaluate(parse("c ** 70"), {"c": codes}).tolist() == [0.0, 2.0**70]
    with pytest.raises(ExprEvalError, match=r"gives nan in 2 of 2 worlds, e.g. where c=0: 0 % 0 = nan"):
        evaluate(parse("c % 0"), {"c": codes})


def test_a_categorical_result_is_coded_in_the_target_domain():
    weather = Categorical(torch.tensor([0, 1, 1]), ("rain", "clear"))
    out = evaluate(parse("W"), {"W": weather}, target_domain=("clear", "rain", "snow"))
    assert out.domain == ("clear", "rain", "snow") and out.codes.tolist() == [1, 0, 0]
    with pytest.raises(
        ExprEvalError, match=r"gives 'rain', which is not one of the values \['clear', 'dry'\]"
    ):
        evaluate(parse("W"), {"W": weather}, target_domain=("clear", "dry"))


@pytest.mark.parametrize(
    ("text", "column", "match"),
    [
        ("(" * 100 + "x" + ")" * 100, MAX_NESTING + 1, "nests deeper than"),
        ("-" * 100 + "x", MAX_NESTING + 1, "nests deeper than"),
        ("x if y else " * 100 + "z", 12 * MAX_NESTING + 1, "nests deeper than"),
        ("1+" * MAX_EQUATION_TOKENS, MAX_EQUATION_TOKENS + 1, "more than 20,000 tokens"),
        ("x" * (MAX_EQUATION_CHARS + 1), MAX_EQUATION_CHARS + 1, "characters long"),
        ("1e999 + x", 1, "the number '1e999' is too large"),
        ("1.2.3", 1, "malformed number '1.2.3'"),
        ("a " + "b" * 1000, 3, r"unexpected 'b{80}…' \(1000 characters\)"),
    ],
)
def test_limits_are_syntax_errors_with_the_column(text, column, match):
    with pytest.raises(ExprSyntaxError, match=match) as info:
        parse(text)
    assert info.value.position + 1 == column


def test_the_deepest_allowed_nesting_parses_and_evaluates():
    text = "(" * (MAX_NESTING - 1) + "x" + ")" * (MAX_NESTING - 1)
    assert value(text, x=2.0) == 2.0


def test_long_flat_chains_need_no_recursion():
    terms = 9_000
    ast = parse(" + ".join(f"x{i % 7}" for i in range(terms)))
    assert len(additive_terms(ast)) == terms
    assert ast.names() == {f"x{i}" for i in range(7)}
    env = {f"x{i}": torch.tensor([1.0], dtype=torch.float64) for i in range(7)}
    assert evaluate(ast, env).tolist() == [float(terms)]
    assert evaluate(parse(" or ".join(["x0 > 2"] * 5_000)), env).tolist() == [False]
