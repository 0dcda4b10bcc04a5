"""Value semantics of SQL filters: comparison and arithmetic with C#-style operator binding.

The docs ("Operator binding semantics") say comparison and arithmetic operators follow C#'s
data type promotions and implicit conversions. So: Int64 with Int64 stays Int64 (wrapping, integer
division truncates toward zero, % keeps the dividend's sign); any double makes the operation double
(IEEE: x/0.0 is ±Infinity or NaN); strings, booleans, GUIDs and binaries support only = and <>
(C# defines no ordering operators for them); '+' concatenates two strings; DateTime and TimeSpan
compare and add/subtract as in .NET. Any other pairing is a type error: `EvaluationError`.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
import operator
import uuid
from collections.abc import Callable
from typing import Any

_INT64_SPAN = 2**64
_INT64_MIN = -(2**63)

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_ORDERED_KINDS = frozenset({"number", "DateTime", "TimeSpan"})


class EvaluationError(Exception):
    """A runtime error while evaluating a filter against one message (e.g. 'a' > 3)."""


def normalize(value: Any) -> Any:
    """Bring a property value into the types the evaluator knows."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        # Service Bus times are UTC; a naive datetime cannot be ordered against an aware one.
        return value.replace(tzinfo=dt.UTC)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def kind_of(value: Any) -> str:
    """The filter-level type name of a value, as shown in error messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "DateTime"
    if isinstance(value, dt.timedelta):
        return "TimeSpan"
    if isinstance(value, uuid.UUID):
        return "Guid"
    if isinstance(value, bytes):
        return "binary"
    return type(value).__name__


def compare(symbol: str, left: Any, right: Any) -> bool | None:
    """Apply = <> > >= < <=; NULL on either side gives UNKNOWN (None)."""
    if left is None or right is None:
        return None
    kind = kind_of(left)
    if kind != kind_of(right):
        raise EvaluationError(f"cannot compare {kind} with {kind_of(right)} using '{symbol}'")
    if symbol == "=":
        return bool(left == right)
    if symbol == "<>":
        return bool(left != right)
    if kind not in _ORDERED_KINDS:
        raise EvaluationError(f"operator '{symbol}' is not defined for {kind} values")
    return _ORDERING[symbol](left, right)


def arithmetic(symbol: str, left: Any, right: Any) -> Any:
    """Apply + - * / %; NULL on either side gives NULL."""
    if left is None or right is None:
        return None
    left_kind, right_kind = kind_of(left), kind_of(right)
    if left_kind == right_kind == "number":
        if isinstance(left, int) and isinstance(right, int):
            return _integer_arithmetic(symbol, left, right)
        return _double_arithmetic(symbol, float(left), float(right))
    if symbol == "+" and left_kind == right_kind == "string":
        return left + right
    if symbol in "+-" and {left_kind, right_kind} <= {"DateTime", "TimeSpan"}:
        return _temporal_arithmetic(symbol, left, right)
    raise EvaluationError(f"operator '{symbol}' is not defined for {left_kind} and {right_kind}")


def negate(value: Any) -> Any:
    """Unary minus; NULL stays NULL."""
    if value is None:
        return None
    kind = kind_of(value)
    if kind == "number":
        return _wrap_int64(-value) if isinstance(value, int) else -value
    if kind == "TimeSpan":
        return -value
    raise EvaluationError(f"unary '-' is not defined for {kind} values")


def _integer_arithmetic(symbol: str, left: int, right: int) -> int:
    if symbol in "/%" and right == 0:
        raise EvaluationError("integer division by zero")  # .NET DivideByZeroException
    if symbol == "+":
        result = left + right
    elif symbol == "-":
        result = left - right
    elif symbol == "*":
        result = left * right
    elif symbol == "/":
        result = _sign(left) * _sign(right) * (abs(left) // abs(right))
    else:
        result = _sign(left) * (abs(left) % abs(right))
    return _wrap_int64(result)


def _double_arithmetic(symbol: str, left: float, right: float) -> float:
    try:
        if symbol == "+":
            return left + right
        if symbol == "-":
            return left - right
        if symbol == "*":
            return left * right
        if symbol == "/":
            return _ieee_divide(left, right)
        return math.fmod(left, right) if right != 0 else math.nan
    except (OverflowError, ValueError):
        return math.nan  # e.g. fmod(inf, x): IEEE gives NaN where Python raises


def _ieee_divide(left: float, right: float) -> float:
    if right != 0:
        return left / right
    if left == 0 or math.isnan(left):
        return math.nan
    return math.copysign(math.inf, left) * math.copysign(1.0, right)


def _temporal_arithmetic(symbol: str, left: Any, right: Any) -> Any:
    try:
        result = left + right if symbol == "+" else left - right
    except TypeError as error:  # e.g. TimeSpan - DateTime, DateTime + DateTime
        raise EvaluationError(f"operator '{symbol}' is not defined for these operands") from error
    except OverflowError as error:
        raise EvaluationError("DateTime arithmetic out of range") from error
    return result


def _sign(value: int) -> int:
    return -1 if value < 0 else 1


def _wrap_int64(value: int) -> int:
    # C# long arithmetic is unchecked by default: results wrap around modulo 2^64.
    return (value - _INT64_MIN) % _INT64_SPAN + _INT64_MIN
