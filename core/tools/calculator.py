"""Safe arithmetic for the calculator tool: the expression is parsed with `ast` and walked by hand.

Nothing is ever passed to eval: only numbers, the arithmetic operators, a fixed set of math
functions and the constants pi / e are understood; anything else is refused by name. Results
are bounded (huge powers, giant integers, long inputs) so a hostile expression cannot pin a CPU
or exhaust memory.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 500
MAX_INT_BITS = 4096  # ~1233 decimal digits: more than any real calculation, far below a DoS
MAX_ARGS = 100

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "tan": math.tan, "log": math.log, "log10": math.log10,
    "exp": math.exp, "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil, "min": min, "max": max,
    "pow": None,  # checked like ** (see _power)
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_TYPOGRAPHIC = str.maketrans({"×": "*", "÷": "/", "−": "-", "，": ","})


class CalculatorError(ValueError):
    """The expression cannot be computed; the message says why in plain words."""


def evaluate(expression: str) -> int | float:
    text = (expression or "").translate(_TYPOGRAPHIC).strip()
    if not text:
        raise CalculatorError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not a valid arithmetic expression ({exc.msg})") from None
    try:
        return _eval(tree.body)
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("the result is too large") from None
    except RecursionError:
        raise CalculatorError("the expression is nested too deeply") from None


def format_number(value: float) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise CalculatorError("the result is not a finite number")
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    return str(value)


def _eval(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalculatorError(f"{node.value!r} is not a number")
        return node.value
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op is ast.BitXor:
            raise CalculatorError("'^' is not a power here; write ** (for example 2**10)")
        if op not in _BINARY:
            raise CalculatorError(f"the operator {_symbol(node.op)} is not supported")
        left, right = _eval(node.left), _eval(node.right)
        if op is ast.Pow:
            return _power(left, right)
        return _checked(_BINARY[op](left, right))
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise CalculatorError(f"the operator {_symbol(node.op)} is not supported")
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CalculatorError(f"unknown name '{node.id}'")
    if isinstance(node, ast.Call):
        return _call(node)
    raise CalculatorError(f"{_describe(node)} is not allowed in a calculation")


def _call(node: ast.Call) -> int | float:
    if not isinstance(node.func, ast.Name):
        raise CalculatorError(f"{_describe(node.func)} is not allowed in a calculation")
    name = node.func.id
    if name not in _FUNCTIONS:
        raise CalculatorError(f"unknown function '{name}' (available: {', '.join(sorted(_FUNCTIONS))})")
    if node.keywords:
        raise CalculatorError(f"{name}() takes no keyword arguments")
    if len(node.args) > MAX_ARGS:
        raise CalculatorError(f"{name}() has too many arguments")
    args = [_eval(a) for a in node.args]
    if name == "pow":
        if len(args) != 2:
            raise CalculatorError("pow() takes exactly 2 arguments")
        return _power(*args)
    try:
        return _checked(_FUNCTIONS[name](*args))
    except TypeError:
        raise CalculatorError(f"wrong number of arguments for {name}()") from None
    except ValueError:
        raise CalculatorError(f"{name}() is not defined for {', '.join(map(format_number, args))}") from None


def _power(base: float, exponent: float) -> float:
    # Estimate the size before computing: 9**9**9 would otherwise run for ages.
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1 \
            and exponent * math.log2(abs(base)) > MAX_INT_BITS:
        raise CalculatorError("the result is too large")
    try:
        result = base ** exponent
    except ZeroDivisionError:
        raise CalculatorError("division by zero (0 to a negative power)") from None
    if isinstance(result, complex):
        raise CalculatorError("the result is not a real number (fractional power of a negative number)")
    return _checked(result)


def _checked(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorError("the result is not a number")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("the result is too large")
    return value


def _symbol(op: ast.AST) -> str:
    return {"BitAnd": "&", "BitOr": "|", "LShift": "<<", "RShift": ">>", "MatMult": "@", "Invert": "~",
            "Not": "not"}.get(type(op).__name__, type(op).__name__)


def _describe(node: ast.AST) -> str:
    kinds = {"Attribute": "attribute access", "Subscript": "indexing", "Lambda": "a lambda", "Compare": "a comparison",
             "BoolOp": "and/or", "List": "a list", "Tuple": "a tuple", "Dict": "a dict", "Set": "a set",
             "JoinedStr": "an f-string", "IfExp": "if/else", "NamedExpr": "assignment"}
    return kinds.get(type(node).__name__, type(node).__name__)
