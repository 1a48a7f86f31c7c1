"""The structural-equation language: a tokenizer, a Pratt parser and a vectorised evaluator.

Equations are parsed into a small AST and evaluated over torch tensors, one
element per world; user text is never passed to ``eval`` or ``exec``. The
grammar is Python-like::

    expr     := or_expr ["if" expr "else" expr]
    or_expr  := and_expr ("or" and_expr)*
    and_expr := not_expr ("and" not_expr)*
    not_expr := "not" not_expr | compare
    compare  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum      := term (("+" | "-") term)*
    term     := unary (("*" | "/" | "%") unary)*
    unary    := "-" unary | "+" unary | power
    power    := atom ["**" unary]
    atom     := number | "string" | name | name "(" args ")" | "(" expr ")"

Functions: ``min``, ``max``, ``abs``, ``sqrt``, ``exp``, ``log``, ``clip(x, lo, hi)``,
``floor``, ``ceil``, ``sigmoid``, ``pow(x, y)``. Constants: ``pi``, ``e``, ``true``, ``false``.

Hostile text is bounded before it costs anything: the length, the token count and the
nesting depth (:mod:`mmreason.causal.limits`) are checked as the text is read, and the
evaluator walks the AST with an explicit stack, so long flat chains (``a + b + ...``)
never touch Python's recursion limit.

Arithmetic follows IEEE 754 in every world, constants included (``1 / 0`` is inf, never a
Python exception), and an answer must be finite: a result that is nan or ±inf in any
world, or a comparison, ``and``/``or``/``not`` or ``if`` decided by a nan, raises
:class:`ExprEvalError` naming the values of one such world and the operation that went
wrong there (``sqrt(-0.53) = nan``). Guards work as in Python: ``sqrt(x) if x >= 0 else 0``
and ``x < 0 or log(x) > 1`` are valid for every ``x``.

>>> ast = parse("A or W")
>>> sorted(ast.names())
['A', 'W']
>>> import torch
>>> evaluate(parse("2 * x + 1"), {"x": torch.tensor([0.0, 1.5])}).tolist()
[1.0, 4.0]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mmreason.causal.limits import (
    MAX_EQUATION_CHARS,
    MAX_EQUATION_TOKENS,
    MAX_NESTING,
    quote,
    shown,
)

__all__ = [
    "BinOp",
    "Call",
    "Categorical",
    "ExprEvalError",
    "ExprSyntaxError",
    "IfElse",
    "Name",
    "Node",
    "Num",
    "Str",
    "UnaryOp",
    "evaluate",
    "parse",
]


class ExprSyntaxError(Exception):
    """An equation that does not parse; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{message} at column {position + 1}")


class ExprEvalError(Exception):
    """An equation that parses but cannot be evaluated (type error, unknown value, nan or ±inf)."""


# ---------------------------------------------------------------- tokens

_KEYWORDS = {"and", "or", "not", "if", "else"}
_OPERATORS = ("**", "<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num" | "str" | "name" | "op" | "kw" | "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if len(tokens) == MAX_EQUATION_TOKENS:
            raise ExprSyntaxError(
                f"the equation has more than {MAX_EQUATION_TOKENS:,} tokens (numbers, names, operators)", i
            )
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            start = i
            while i < n and (text[i].isdigit() or text[i] == "."):
                i += 1
            if i < n and text[i] in "eE":
                j = i + 1
                if j < n and text[j] in "+-":
                    j += 1
                if j < n and text[j].isdigit():
                    i = j
                    while i < n and text[i].isdigit():
                        i += 1
            literal = text[start:i]
            try:
                number = float(literal)
            except ValueError:
                raise ExprSyntaxError(f"malformed number {quote(literal)}", start) from None
            if not math.isfinite(number):
                raise ExprSyntaxError(f"the number {quote(literal)} is too large for a float", start)
            tokens.append(_Token("num", literal, start))
            continue
        if ch.isalpha() or ch == "_":
            start = i
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            word = text[start:i]
            tokens.append(_Token("kw" if word in _KEYWORDS else "name", word, start))
            continue
        if ch in "\"'":
            start = i
            end = text.find(ch, i + 1)
            if end < 0:
                raise ExprSyntaxError("unterminated string", start)
            tokens.append(_Token("str", text[i + 1 : end], start))
            i = end + 1
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(_Token("op", op, i))
                i += len(op)
                break
        else:
            raise ExprSyntaxError(f"unexpected character {ch!r}", i)
    tokens.append(_Token("end", "", n))
    return tokens


# ---------------------------------------------------------------- AST


class Node:
    """A node of the equation AST."""

    __slots__ = ()

    def names(self) -> set[str]:
        """Every free name (variables and constants) the expression reads."""
        out: set[str] = set()
        for node in _walk(self):
            if isinstance(node, Name):
                out.add(node.name)
        return out

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Num(Node):
    value: float


@dataclass(frozen=True, slots=True)
class Str(Node):
    value: str


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class UnaryOp(Node):
    op: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class IfElse(Node):
    condition: Node
    then: Node
    otherwise: Node

    def children(self) -> tuple[Node, ...]:
        return (self.condition, self.then, self.otherwise)


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


def _walk(root: Node) -> list[Node]:
    """Every node under ``root`` (itself included), parents before children, without recursion."""
    out: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children()))
    return out


_FUNCTIONS: dict[str, tuple[int, int]] = {  # name -> (min args, max args)
    "min": (2, 16),
    "max": (2, 16),
    "abs": (1, 1),
    "sqrt": (1, 1),
    "exp": (1, 1),
    "log": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "sigmoid": (1, 1),
    "clip": (3, 3),
    "pow": (2, 2),
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "true": 1.0, "false": 0.0, "True": 1.0, "False": 0.0}

# Binding powers for binary operators (higher binds tighter).
_BINARY = {
    "or": 10,
    "and": 20,
    "<": 40,
    "<=": 40,
    ">": 40,
    ">=": 40,
    "==": 40,
    "!=": 40,
    "+": 50,
    "-": 50,
    "*": 60,
    "/": 60,
    "%": 60,
}


class _Parser:
    """Recursive descent for prefix forms, a loop for each chain of binary operators.

    Every recursive entry (a parenthesis, a unary operator, a ``**`` exponent, an ``else``
    branch, a function argument) passes :meth:`nested`, which bounds the depth.
    """

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> _Token:
        if self.tok.text != text or self.tok.kind not in ("op", "kw"):
            found = self.tok.text or "end of equation"
            raise ExprSyntaxError(f"expected {text!r}, found {quote(found)}", self.tok.pos)
        return self.advance()

    def nested(self, parse: Callable[[], Node]) -> Node:
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise ExprSyntaxError(
                    f"the equation nests deeper than {MAX_NESTING} levels "
                    "(parentheses, unary operators, '**', 'if ... else')",
                    self.tok.pos,
                )
            return parse()
        finally:
            self.depth -= 1

    def parse(self) -> Node:
        node = self.expression()
        if self.tok.kind != "end":
            raise ExprSyntaxError(f"unexpected {quote(self.tok.text)}", self.tok.pos)
        return node

    def expression(self) -> Node:
        node = self.binary(0)
        if self.tok.kind == "kw" and self.tok.text == "if":
            self.advance()
            condition = self.binary(0)
            self.expect("else")
            otherwise = self.nested(self.expression)
            node = IfElse(condition, node, otherwise)
        return node

    def binary(self, min_power: int) -> Node:
        left = self.prefix()
        while True:
            tok = self.tok
            power = _BINARY.get(tok.text) if tok.kind in ("op", "kw") else None
            if power is None or power <= min_power:
                return left
            self.advance()
            if power == 40:
                right = self.binary(power)
                if self.tok.text in _BINARY and _BINARY[self.tok.text] == 40:
                    raise ExprSyntaxError("chained comparisons are not supported", self.tok.pos)
            else:
                right = self.binary(power)
            left = BinOp(tok.text, left, right)

    def prefix(self) -> Node:
        return self.nested(self.prefix_body)

    def prefix_body(self) -> Node:
        tok = self.tok
        if tok.kind == "kw" and tok.text == "not":
            self.advance()
            return UnaryOp("not", self.binary(30))
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.advance()
            operand = self.binary(55)
            return UnaryOp("-", operand) if tok.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.tok.kind == "op" and self.tok.text == "**":
            self.advance()
            # Right-associative and binding tighter than unary minus on its left.
            exponent = self.prefix()
            return BinOp("**", base, exponent)
        return base

    def atom(self) -> Node:
        tok = self.advance()
        if tok.kind == "num":
            return Num(float(tok.text))
        if tok.kind == "str":
            return Str(tok.text)
        if tok.kind == "name":
            if self.tok.kind == "op" and self.tok.text == "(":
                if tok.text not in _FUNCTIONS:
                    known = ", ".join(sorted(_FUNCTIONS))
                    raise ExprSyntaxError(f"unknown function {quote(tok.text)}; known: {known}", tok.pos)
                self.advance()
                args: list[Node] = []
                if not (self.tok.kind == "op" and self.tok.text == ")"):
                    args.append(self.expression())
                    while self.tok.kind == "op" and self.tok.text == ",":
                        self.advance()
                        args.append(self.expression())
                self.expect(")")
                low, high = _FUNCTIONS[tok.text]
                if not low <= len(args) <= high:
                    raise ExprSyntaxError(
                        f"{tok.text}() takes {low}{'' if low == high else f' to {high}'} argument(s), "
                        f"found {len(args)}",
                        tok.pos,
                    )
                return Call(tok.text, tuple(args))
            if tok.text in _CONSTANTS:
                return Num(_CONSTANTS[tok.text])
            return Name(tok.text, tok.pos)
        if tok.kind == "op" and tok.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        found = tok.text or "end of equation"
        raise ExprSyntaxError(f"expected a value, found {quote(found)}", tok.pos)


def parse(text: str) -> Node:
    """Parse an equation into an AST; raises :class:`ExprSyntaxError` with the column.

    >>> parse("x if y > 1 else -x")
    IfElse(condition=BinOp(op='>', left=Name(name='y', pos=5), right=Num(value=1.0)), \
then=Name(name='x', pos=0), otherwise=UnaryOp(op='-', operand=Name(name='x', pos=17)))
    """
    if not isinstance(text, str) or not text.strip():
        raise ExprSyntaxError("empty equation", 0)
    if len(text) > MAX_EQUATION_CHARS:
        raise ExprSyntaxError(
            f"the equation is {len(text):,} characters long; the limit is {MAX_EQUATION_CHARS:,}",
            MAX_EQUATION_CHARS,
        )
    try:
        return _Parser(text).parse()
    except RecursionError:
        # MAX_NESTING keeps the parser far inside the limit; this is for a caller already deep.
        raise ExprSyntaxError("the equation nests too deeply for the interpreter's stack", 0) from None


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class Categorical:
    """Values of a variable with a finite non-numeric domain: integer codes into ``domain``."""

    codes: torch.Tensor  # [W], long
    domain: tuple[object, ...]


@dataclass(slots=True)
class _Value:
    """A value on the evaluator's stack.

    A float tensor carries nan where it is undefined; a bool tensor or a
    :class:`Categorical` cannot, so ``invalid`` marks the worlds where a nan decided it
    (a comparison, ``and``/``or``/``not``, an ``if`` condition). ``finite`` says the value
    is known to hold no nan or ±inf without looking (inputs, comparisons, ``min`` of
    finite values...), so that the common equations pay for no check. ``why`` is filled
    only while diagnosing one world: the first operation that gave nan or ±inf on the way.
    """

    value: object  # float | str | Tensor (float64, bool or long codes) | Categorical
    invalid: torch.Tensor | None = None  # bool, broadcasts with value
    finite: bool = False
    why: str | None = None

    @property
    def clean(self) -> bool:
        """Known to be finite and decided by no nan: nothing to check."""
        return self.finite and self.invalid is None


_COMPARISONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "<": torch.lt,
    "<=": torch.le,
    ">": torch.gt,
    ">=": torch.ge,
    "==": torch.eq,
    "!=": torch.ne,
}
# The same IEEE 754 arithmetic for tensors and for constants: numpy's float64 scalars give
# inf and nan where Python's floats raise (1 / 0, 10 ** 1e10) or turn complex ((-8) ** 0.5).
_TENSOR_OPS: dict[str, Callable[[Any, Any], torch.Tensor]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "**": operator.pow,
}
_SCALAR_OPS: dict[str, Callable[[np.float64, np.float64], np.float64]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    "%": np.remainder,
    "**": np.power,
}
_UNARY_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "abs": torch.abs,
    "sqrt": torch.sqrt,
    "exp": torch.exp,
    "log": torch.log,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "sigmoid": torch.sigmoid,
}
_SHOWN_NAMES = 8  # values of at most this many names in an error's example world
# Functions whose value is finite wherever their arguments are.
_FINITE_FUNCTIONS = frozenset({"abs", "floor", "ceil", "sigmoid", "min", "max", "clip"})


def _either(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _domain_text(domain: tuple[object, ...]) -> str:
    return shown(list(domain))


def _show(value: object) -> str:
    if isinstance(value, torch.Tensor):
        value = value.reshape(-1)[0].item()
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


def _operand(value: object) -> str:
    text = _show(value)
    return f"({text})" if text.startswith("-") else text


def _undefined(value: _Value) -> bool:
    """Diagnosis of one world: is the value nan, or decided by a nan?"""
    if value.invalid is not None and bool(value.invalid.any()):
        return True
    v = value.value
    if isinstance(v, float):
        return math.isnan(v)
    return isinstance(v, torch.Tensor) and v.is_floating_point() and bool(torch.isnan(v).any())


def _bad(value: _Value) -> bool:
    """Diagnosis of one world: is the value nan, ±inf, or decided by a nan?"""
    v = value.value
    if isinstance(v, float) and not math.isfinite(v):
        return True
    if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all()):
        return True
    return _undefined(value)


def _postorder(root: Node) -> list[tuple[Node, int]]:
    """(node, number of children) for every node, children first, without recursion."""
    out: list[tuple[Node, int]] = []
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        children = node.children()
        if children and not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
        else:
            out.append((node, len(children)))
    return out


def evaluate(
    node: Node, env: Mapping[str, object], *, target_domain: tuple[object, ...] | None = None
) -> object:
    """Evaluate ``node`` over the worlds in ``env``.

    Args:
        node: the parsed equation.
        env: name -> float64 tensor ``[W]`` (numbers), :class:`Categorical` (string values), or float;
            finite (the model's values are: evidence, noise and every parent are checked).
        target_domain: the string domain a bare string literal stands for (``"wet" if ... else "dry"``).

    Returns:
        A float64 or bool tensor, a :class:`Categorical` over ``target_domain``, or a float;
        never nan or ±inf.

    Raises:
        ExprEvalError: a type error, an unknown name or value, or a result that is nan or
            ±inf (or decided by a nan) in some world; the message gives the values of one
            such world and the operation that failed there.

    >>> evaluate(parse("sqrt(x)"), {"x": torch.tensor([4.0, -1.0], dtype=torch.float64)})
    Traceback (most recent call last):
    ...
    mmreason.causal.expr.ExprEvalError: gives nan in 1 of 2 worlds, e.g. where x=-1: sqrt(-1) = nan
    """
    return _Evaluator(env, target_domain).run(node)


class _Evaluator:
    """Evaluates the AST in post-order from a list, so that no equation can exhaust recursion."""

    def __init__(
        self, env: Mapping[str, object], target_domain: tuple[object, ...] | None, *, diagnose: bool = False
    ) -> None:
        self.env = env
        self.target_domain = target_domain
        self.diagnose = diagnose
        self.like: torch.Tensor | None = None
        for value in env.values():
            if isinstance(value, torch.Tensor):
                self.like = value
                break
            if isinstance(value, Categorical):
                self.like = value.codes
                break

    # ------------------------------------------------------------ driving

    def run(self, node: Node) -> object:
        root = self.walk(node)
        if isinstance(root.value, str):
            root = _Value(self.string_value(root.value))
        value = root.value
        if isinstance(value, Categorical) and self.target_domain is not None:
            value = self.in_target_domain(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                self.refuse(node, torch.ones((), dtype=torch.bool), value)
            return value
        if root.clean:
            return value
        bad = root.invalid
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            bad = _either(~torch.isfinite(value), bad)
        if bad is not None and bool(bad.any()):
            self.refuse(node, bad, value)
        return value

    def in_target_domain(self, value: Categorical) -> Categorical:
        """The same values, coded in the target's domain (``Y = W`` where W's values are among Y's)."""
        target = self.target_domain or ()
        if value.domain == target:
            return value
        mapping = [target.index(v) if v in target else -1 for v in value.domain]
        codes = torch.as_tensor(mapping, device=value.codes.device)[value.codes]
        if bool((codes < 0).any()):
            missing = value.domain[int(value.codes[codes < 0].reshape(-1)[0])]
            raise ExprEvalError(
                f"gives {shown(missing)}, which is not one of the values {_domain_text(target)}"
            )
        return Categorical(codes, target)

    def walk(self, root: Node) -> _Value:
        results: list[_Value] = []
        for node, count in _postorder(root):
            if count:
                args = results[-count:]
                del results[-count:]
            else:
                args = []
            results.append(self.apply(node, args))
        return results[0]

    def apply(self, node: Node, args: list[_Value]) -> _Value:
        if isinstance(node, BinOp):
            return self.binop(node, *args)
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, (Num, Str)):
            return _Value(node.value, finite=True)  # a literal past float64 does not parse
        if isinstance(node, UnaryOp):
            (operand,) = args
            if node.op == "-":
                out = _Value(-self.num(operand, "unary '-'"), finite=operand.clean)
            else:
                truth, invalid = self.truth(operand, "'not'")
                out = _Value(~truth, invalid, finite=True)
            return self.explained(out, lambda: [operand], None)
        if isinstance(node, IfElse):
            return self.if_else(*args)
        if isinstance(node, Call):
            return self.call(node, args)
        raise ExprEvalError(f"cannot evaluate a {type(node).__name__} node")

    def name(self, node: Name) -> _Value:
        if node.name not in self.env:
            raise ExprEvalError(f"unknown name {quote(node.name)}")
        value = self.env[node.name]
        out = _Value(value, finite=not isinstance(value, float) or math.isfinite(value))
        if self.diagnose and _bad(out):
            out.why = f"{node.name} = {_show(out.value)}"
        return out

    # ------------------------------------------------------------ conversions

    def tensor(self, value: float | torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            return value
        like = like if like is not None else self.like
        return torch.tensor(value, dtype=torch.float64, device=like.device if like is not None else None)

    def num(self, value: _Value, what: str) -> float | torch.Tensor:
        """The value as a float or a float64 tensor, nan where it is undefined."""
        v = value.value
        if isinstance(v, torch.Tensor):
            if v.dtype != torch.float64:
                v = v.to(torch.float64)  # bool, codes; integer arithmetic could wrap or raise
            if value.invalid is not None:
                v = torch.where(value.invalid, math.nan, v)
            return v
        if isinstance(v, Categorical):
            raise ExprEvalError(
                f"{what} needs numbers, found a variable with values {_domain_text(v.domain)}"
            )
        if isinstance(v, str):
            raise ExprEvalError(f"{what} needs numbers, found the string {quote(v)}")
        return v  # type: ignore[return-value]

    def truth(self, value: _Value, what: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(bool tensor, where a nan decided it)."""
        v = value.value
        if isinstance(v, torch.Tensor) and v.dtype == torch.bool:
            return v, value.invalid
        number = self.tensor(self.num(value, what))
        return number != 0, None if value.clean else torch.isnan(number)

    def string_value(self, text: str) -> Categorical:
        if self.target_domain is None or text not in self.target_domain:
            domain = (
                "" if self.target_domain is None else f"; the values are {_domain_text(self.target_domain)}"
            )
            raise ExprEvalError(f"the string {quote(text)} is not a value of this variable{domain}")
        codes = torch.tensor(
            self.target_domain.index(text),
            dtype=torch.long,
            device=self.like.device if self.like is not None else None,
        )
        return Categorical(codes, self.target_domain)

    # ------------------------------------------------------------ operations

    def binop(self, node: BinOp, left: _Value, right: _Value) -> _Value:
        op = node.op
        if op in _COMPARISONS:
            out = self.compare(op, left, right)
            return self.explained(out, lambda: [v for v in (left, right) if _undefined(v)], None)
        if op in ("and", "or"):
            lt, li = self.truth(left, f"'{op}'")
            rt, ri = self.truth(right, f"'{op}'")
            # As in Python, a decided left side makes the right one irrelevant.
            if op == "and":
                out = _Value(lt & rt, _either(li, None if ri is None else lt & ri), finite=True)
            else:
                out = _Value(lt | rt, _either(li, None if ri is None else ~lt & ri), finite=True)
            return self.explained(out, lambda: [v for v in (left, right) if _undefined(v)], None)
        if op not in _TENSOR_OPS:
            raise ExprEvalError(f"unknown operator {op!r}")
        a = self.num(left, f"'{op}'")
        b = self.num(right, f"'{op}'")
        if isinstance(a, float) and isinstance(b, float):
            with np.errstate(all="ignore"):
                scalar = float(_SCALAR_OPS[op](np.float64(a), np.float64(b)))
            out = _Value(scalar, finite=math.isfinite(scalar))
        else:
            out = _Value(_TENSOR_OPS[op](a, b))  # may overflow: not known finite
        return self.explained(out, lambda: [left, right], lambda: f"{_operand(a)} {op} {_operand(b)}")

    def compare(self, op: str, left: _Value, right: _Value) -> _Value:
        lv, rv = left.value, right.value
        if isinstance(lv, str) and isinstance(rv, Categorical):
            left, right, lv, rv = right, left, rv, lv
        if isinstance(lv, Categorical):
            if op not in ("==", "!="):
                raise ExprEvalError(
                    f"{op!r} compares numbers; values {_domain_text(lv.domain)} only support == and !="
                )
            if isinstance(rv, str):
                if rv not in lv.domain:
                    raise ExprEvalError(f"{quote(rv)} is not one of the values {_domain_text(lv.domain)}")
                result = lv.codes == lv.domain.index(rv)
            elif isinstance(rv, Categorical):
                mapping = torch.tensor(
                    [rv.domain.index(v) if v in rv.domain else -1 for v in lv.domain],
                    device=lv.codes.device,
                )
                result = mapping[lv.codes] == rv.codes
            else:
                raise ExprEvalError(f"cannot compare values {_domain_text(lv.domain)} with a number")
            return _Value(
                result if op == "==" else ~result, _either(left.invalid, right.invalid), finite=True
            )
        if isinstance(lv, str) and isinstance(rv, str):
            raise ExprEvalError(f"{op!r} compares two strings; compare a variable with a string")
        if isinstance(lv, str) or isinstance(rv, (str, Categorical)):
            raise ExprEvalError("cannot compare a string with a number")
        a = self.num(left, op)
        b = self.num(right, op)
        if isinstance(a, float):
            a = self.tensor(a, b if isinstance(b, torch.Tensor) else None)
        if isinstance(b, float) and not right.clean:
            b = self.tensor(b, a)
        invalid = _either(
            None if left.clean else torch.isnan(a),
            None if right.clean else torch.isnan(b),  # type: ignore[arg-type]
        )
        return _Value(_COMPARISONS[op](a, b), invalid, finite=True)

    def if_else(self, condition: _Value, then: _Value, otherwise: _Value) -> _Value:
        truth, invalid = self.truth(condition, "'if' condition")
        if isinstance(then.value, str):
            then = _Value(self.string_value(then.value), then.invalid, True, then.why)
        if isinstance(otherwise.value, str):
            otherwise = _Value(self.string_value(otherwise.value), otherwise.invalid, True, otherwise.why)

        def relevant() -> list[_Value]:
            return [condition] if _undefined(condition) else [then if bool(truth.all()) else otherwise]

        tv, ov = then.value, otherwise.value
        if isinstance(tv, Categorical) or isinstance(ov, Categorical):
            if not (isinstance(tv, Categorical) and isinstance(ov, Categorical)):
                raise ExprEvalError("both branches of 'if ... else' must be values of the same kind")
            if tv.domain != ov.domain:
                raise ExprEvalError("both branches of 'if ... else' must have the same values")
            chosen = None
            if then.invalid is not None or otherwise.invalid is not None:
                false = torch.zeros((), dtype=torch.bool, device=truth.device)
                chosen = torch.where(
                    truth,
                    then.invalid if then.invalid is not None else false,
                    otherwise.invalid if otherwise.invalid is not None else false,
                )
            codes = torch.where(truth, tv.codes, ov.codes)
            out = _Value(Categorical(codes, tv.domain), _either(invalid, chosen), finite=True)
            return self.explained(out, relevant, None)
        a = self.num(then, "'if' branch")
        b = self.num(otherwise, "'else' branch")
        if not isinstance(b, torch.Tensor):
            a = self.tensor(a, truth)  # one float64 tensor keeps a float64 result
        result = torch.where(truth, a, b)
        if invalid is not None:
            result = torch.where(invalid, math.nan, result)
        finite = then.clean and otherwise.clean and invalid is None
        return self.explained(_Value(result, finite=finite), relevant, None)

    def call(self, node: Call, values: list[_Value]) -> _Value:
        f = node.function
        args = [self.num(v, f"{f}()") for v in values]
        like = next((a for a in args if isinstance(a, torch.Tensor)), None)
        tensors = [self.tensor(a, like) for a in args]
        if f == "min":
            out = tensors[0]
            for t in tensors[1:]:
                out = torch.minimum(out, t)
        elif f == "max":
            out = tensors[0]
            for t in tensors[1:]:
                out = torch.maximum(out, t)
        elif f == "clip":
            out = torch.minimum(torch.maximum(tensors[0], tensors[1]), tensors[2])
        elif f == "pow":
            out = torch.pow(tensors[0], tensors[1])
        else:
            out = _UNARY_FUNCTIONS[f](tensors[0])
        finite = f in _FINITE_FUNCTIONS and all(v.clean for v in values)
        return self.explained(
            _Value(out, finite=finite), lambda: values, lambda: f"{f}({', '.join(_show(a) for a in args)})"
        )

    # ------------------------------------------------------------ diagnosis

    def explained(
        self, out: _Value, inputs: Callable[[], list[_Value]], describe: Callable[[], str] | None
    ) -> _Value:
        """While diagnosing: name the first operation that made ``out`` nan, ±inf or undefined."""
        if self.diagnose and _bad(out):
            inherited = next((v.why for v in inputs() if v.why is not None and _bad(v)), None)
            if inherited is not None:
                out.why = inherited
            elif describe is not None:
                out.why = f"{describe()} = {_show(out.value)}"
        return out

    def refuse(self, node: Node, bad: torch.Tensor, value: object) -> None:
        """Raise for a result that is nan, ±inf or undefined, with one such world as the example."""
        tensors = {
            name: (v.codes if isinstance(v, Categorical) else v)
            for name, v in sorted(self.env.items())
            if isinstance(v, (torch.Tensor, Categorical))
        }
        shape = torch.broadcast_shapes(bad.shape, *(t.shape for t in tensors.values()))
        flat = bad.expand(shape).reshape(-1)
        index = int(torch.nonzero(flat)[0])
        position = tuple(int(i) for i in np.unravel_index(index, shape)) if shape else ()
        example: dict[str, object] = {}
        shown: list[str] = []
        for name, t in tensors.items():
            element = t.expand(shape)[position].reshape(1)
            original = self.env[name]
            if isinstance(original, Categorical):
                example[name] = Categorical(element, original.domain)
                shown.append(f"{name}={original.domain[int(element)]!r}")
            else:
                example[name] = element
                shown.append(f"{name}={_show(element)}")
        example.update({k: v for k, v in self.env.items() if k not in example})
        if len(shown) > _SHOWN_NAMES:
            shown = [*shown[:_SHOWN_NAMES], f"… ({len(tensors)} names)"]
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            result = _show(value.expand(shape)[position])
        elif isinstance(value, float):
            result = _show(value)
        else:
            result = "a value decided by nan"
        count, total = int(flat.sum()), flat.numel()
        scope = f" in {count:,} of {total:,} worlds" if total > 1 else ""
        where = f", e.g. where {', '.join(shown)}" if shown else ""
        why = self.diagnosis(node, example)
        raise ExprEvalError(f"gives {result}{scope}{where}" + (f": {why}" if why else ""))

    def diagnosis(self, node: Node, example: Mapping[str, object]) -> str | None:
        try:
            return _Evaluator(example, self.target_domain, diagnose=True).walk(node).why
        except ExprEvalError:
            return None


def additive_terms(node: Node) -> list[tuple[int, Node]]:
    """Flatten a top-level chain of ``+``/``-`` into (sign, term) pairs.

    >>> [(s, type(t).__name__) for s, t in additive_terms(parse("a - b + U"))]
    [(1, 'Name'), (-1, 'Name'), (1, 'Name')]
    """
    out: list[tuple[int, Node]] = []
    stack: list[tuple[int, Node]] = [(1, node)]
    while stack:
        sign, term = stack.pop()
        if isinstance(term, BinOp) and term.op in ("+", "-"):
            stack.append((sign if term.op == "+" else -sign, term.right))
            stack.append((sign, term.left))
        elif isinstance(term, UnaryOp) and term.op == "-":
            stack.append((-sign, term.operand))
        else:
            out.append((sign, term))
    return out
