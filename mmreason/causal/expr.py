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

>>> ast = parse("A or W")
>>> sorted(ast.names())
['A', 'W']
>>> import torch
>>> evaluate(parse("2 * x + 1"), {"x": torch.tensor([0.0, 1.5])}).tolist()
[1.0, 4.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

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
    """An equation that parses but cannot be evaluated (type error, unknown value)."""


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
                float(literal)
            except ValueError:
                raise ExprSyntaxError(f"malformed number {literal!r}", start) from None
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
        self._collect(out)
        return out

    def _collect(self, out: set[str]) -> None:
        for child in self.children():
            child._collect(out)

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

    def _collect(self, out: set[str]) -> None:
        out.add(self.name)


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
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

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
            raise ExprSyntaxError(f"expected {text!r}, found {found!r}", self.tok.pos)
        return self.advance()

    def parse(self) -> Node:
        node = self.expression()
        if self.tok.kind != "end":
            raise ExprSyntaxError(f"unexpected {self.tok.text!r}", self.tok.pos)
        return node

    def expression(self) -> Node:
        node = self.binary(0)
        if self.tok.kind == "kw" and self.tok.text == "if":
            self.advance()
            condition = self.binary(0)
            self.expect("else")
            otherwise = self.expression()
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
                    raise ExprSyntaxError(f"unknown function {tok.text!r}; known: {known}", tok.pos)
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
        raise ExprSyntaxError(f"expected a value, found {found!r}", tok.pos)


def parse(text: str) -> Node:
    """Parse an equation into an AST; raises :class:`ExprSyntaxError` with the column.

    >>> parse("x if y > 1 else -x")
    IfElse(condition=BinOp(op='>', left=Name(name='y', pos=5), right=Num(value=1.0)), \
then=Name(name='x', pos=0), otherwise=UnaryOp(op='-', operand=Name(name='x', pos=17)))
    """
    if not isinstance(text, str) or not text.strip():
        raise ExprSyntaxError("empty equation", 0)
    return _Parser(text).parse()


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class Categorical:
    """Values of a variable with a finite non-numeric domain: integer codes into ``domain``."""

    codes: torch.Tensor  # [W], long
    domain: tuple[object, ...]


def _num(value: object, what: str) -> torch.Tensor:
    if isinstance(value, Categorical):
        raise ExprEvalError(f"{what} needs numbers, found a variable with values {list(value.domain)}")
    if isinstance(value, str):
        raise ExprEvalError(f"{what} needs numbers, found the string {value!r}")
    if isinstance(value, torch.Tensor) and value.dtype == torch.bool:
        return value.to(torch.float64)
    return value  # type: ignore[return-value]


def _truth(value: object, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor) and value.dtype == torch.bool:
        return value
    return _num(value, what) != 0


def _compare(op: str, left: object, right: object) -> torch.Tensor:
    if isinstance(left, str) and isinstance(right, Categorical):
        left, right = right, left
    if isinstance(left, Categorical):
        if op not in ("==", "!="):
            raise ExprEvalError(f"{op!r} compares numbers; values {list(left.domain)} only support == and !=")
        if isinstance(right, str):
            if right not in left.domain:
                raise ExprEvalError(f"{right!r} is not one of the values {list(left.domain)}")
            result = left.codes == left.domain.index(right)
        elif isinstance(right, Categorical):
            mapping = torch.tensor(
                [right.domain.index(v) if v in right.domain else -1 for v in left.domain],
                device=left.codes.device,
            )
            result = mapping[left.codes] == right.codes
        else:
            raise ExprEvalError(f"cannot compare values {list(left.domain)} with a number")
        return result if op == "==" else ~result
    if isinstance(left, str) or isinstance(right, (str, Categorical)):
        raise ExprEvalError("cannot compare a string with a number")
    if isinstance(left, float):
        left = torch.as_tensor(left, dtype=torch.float64)
    table: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "<": torch.lt,
        "<=": torch.le,
        ">": torch.gt,
        ">=": torch.ge,
        "==": torch.eq,
        "!=": torch.ne,
    }
    return table[op](_num(left, op), _num(right, op))  # type: ignore[arg-type]


def _as_tensor(value: object, like: torch.Tensor | None) -> object:
    if isinstance(value, float):
        return torch.tensor(value, dtype=torch.float64, device=like.device if like is not None else None)
    return value


def evaluate(
    node: Node, env: Mapping[str, object], *, target_domain: tuple[object, ...] | None = None
) -> object:
    """Evaluate ``node`` over the worlds in ``env``.

    Args:
        node: the parsed equation.
        env: name -> float64 tensor ``[W]`` (numbers), :class:`Categorical` (string values), or float.
        target_domain: the string domain a bare string literal stands for (``"wet" if ... else "dry"``).

    Returns:
        A float64 or bool tensor, a :class:`Categorical` over ``target_domain``, or a float.
    """
    return _Evaluator(env, target_domain).run(node)


class _Evaluator:
    def __init__(self, env: Mapping[str, object], target_domain: tuple[object, ...] | None) -> None:
        self.env = env
        self.target_domain = target_domain
        self.like: torch.Tensor | None = None
        for value in env.values():
            if isinstance(value, torch.Tensor):
                self.like = value
                break
            if isinstance(value, Categorical):
                self.like = value.codes
                break

    def run(self, node: Node) -> object:
        value = self.evaluate(node)
        if isinstance(value, str):
            return self.string_value(value)
        return value

    def string_value(self, text: str) -> Categorical:
        if self.target_domain is None or text not in self.target_domain:
            domain = "" if self.target_domain is None else f"; the values are {list(self.target_domain)}"
            raise ExprEvalError(f"the string {text!r} is not a value of this variable{domain}")
        codes = torch.tensor(
            self.target_domain.index(text),
            dtype=torch.long,
            device=self.like.device if self.like is not None else None,
        )
        return Categorical(codes, self.target_domain)

    def evaluate(self, node: Node) -> object:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Str):
            return node.value
        if isinstance(node, Name):
            if node.name not in self.env:
                raise ExprEvalError(f"unknown name {node.name!r}")
            return self.env[node.name]
        if isinstance(node, UnaryOp):
            value = self.evaluate(node.operand)
            if node.op == "-":
                return -_num(value, "unary '-'")
            return ~_truth(_as_tensor(value, self.like), "'not'")
        if isinstance(node, BinOp):
            return self.binop(node)
        if isinstance(node, IfElse):
            condition = _as_tensor(self.evaluate(node.condition), self.like)
            then = self.evaluate(node.then)
            otherwise = self.evaluate(node.otherwise)
            if isinstance(then, str):
                then = self.string_value(then)
            if isinstance(otherwise, str):
                otherwise = self.string_value(otherwise)
            truth = _truth(condition, "'if' condition")
            if isinstance(then, Categorical) or isinstance(otherwise, Categorical):
                if not (isinstance(then, Categorical) and isinstance(otherwise, Categorical)):
                    raise ExprEvalError("both branches of 'if ... else' must be values of the same kind")
                if then.domain != otherwise.domain:
                    raise ExprEvalError("both branches of 'if ... else' must have the same values")
                return Categorical(torch.where(truth, then.codes, otherwise.codes), then.domain)
            return torch.where(truth, _num(then, "'if' branch"), _num(otherwise, "'else' branch"))
        if isinstance(node, Call):
            return self.call(node)
        raise ExprEvalError(f"cannot evaluate {node!r}")

    def binop(self, node: BinOp) -> object:
        op = node.op
        left = self.evaluate(node.left)
        right = self.evaluate(node.right)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return _compare(op, _as_tensor(left, self.like), right)
        if op in ("and", "or"):
            lt = _truth(_as_tensor(left, self.like), f"'{op}'")
            rt = _truth(_as_tensor(right, self.like), f"'{op}'")
            return (lt & rt) if op == "and" else (lt | rt)
        a = _num(left, f"'{op}'")
        b = _num(right, f"'{op}'")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return a % b
        if op == "**":
            return a**b
        raise ExprEvalError(f"unknown operator {op!r}")

    def call(self, node: Call) -> object:
        args = [_num(self.evaluate(arg), f"{node.function}()") for arg in node.args]
        if all(isinstance(a, float) for a in args):
            args[0] = _as_tensor(args[0], self.like)
        tensors = [a if isinstance(a, torch.Tensor) else None for a in args]
        like = next(t for t in tensors if t is not None) if any(t is not None for t in tensors) else None
        args = [_as_tensor(a, like) for a in args]
        f = node.function
        if f == "min":
            out = args[0]
            for a in args[1:]:
                out = torch.minimum(out, a)
            return out
        if f == "max":
            out = args[0]
            for a in args[1:]:
                out = torch.maximum(out, a)
            return out
        if f == "clip":
            return torch.minimum(torch.maximum(args[0], args[1]), args[2])
        if f == "pow":
            return args[0] ** args[1]
        unary = {
            "abs": torch.abs,
            "sqrt": torch.sqrt,
            "exp": torch.exp,
            "log": torch.log,
            "floor": torch.floor,
            "ceil": torch.ceil,
            "sigmoid": torch.sigmoid,
        }
        return unary[f](args[0])


def additive_terms(node: Node) -> list[tuple[int, Node]]:
    """Flatten a top-level chain of ``+``/``-`` into (sign, term) pairs.

    >>> [(s, type(t).__name__) for s, t in additive_terms(parse("a - b + U"))]
    [(1, 'Name'), (-1, 'Name'), (1, 'Name')]
    """
    if isinstance(node, BinOp) and node.op in ("+", "-"):
        right_sign = 1 if node.op == "+" else -1
        return [*additive_terms(node.left), *((right_sign * s, t) for s, t in additive_terms(node.right))]
    if isinstance(node, UnaryOp) and node.op == "-":
        return [(-s, t) for s, t in additive_terms(node.operand)]
    return [(1, node)]
