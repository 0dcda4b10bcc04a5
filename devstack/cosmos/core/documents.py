"""Parsing and serialising item JSON the way the service accepts it."""
from __future__ import annotations

import json
import math
import sys
from typing import Any

from devstack.cosmos.core.errors import BadRequest, TooLarge

#: Documented limit: an item is at most 2 MB.
MAX_ITEM_BYTES = 2 * 1024 * 1024
#: Documented limit: a response (one page of a query or feed) is at most 4 MB.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
#: Room a feed page keeps for its envelope, ``{"_rid": ..., "Documents": [...], "_count": n}``.
FEED_ENVELOPE_BYTES = 1024
#: What the documents of one page may take, each counted with the comma that separates it.
PAGE_CONTENT_BYTES = MAX_RESPONSE_BYTES - FEED_ENVELOPE_BYTES
#: Documented limit: objects and arrays nest at most 128 levels deep.
MAX_DEPTH = 128
#: Digits of the largest double (about 1.8e308): a longer integer literal cannot be in range.
_MAX_INT_DIGITS = len(str(int(sys.float_info.max)))


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"malformed JSON: {name} is not a JSON value")


def _finite_float(literal: str) -> float:
    # RFC 8259 §6 allows no Infinity or NaN, but Python reads a literal beyond the double range
    # (1e999) as inf; the service stores numbers as IEEE doubles, so such a number is refused.
    value = float(literal)
    if not math.isfinite(value):
        raise BadRequest(f"the number {literal[:40]} is outside the range of a double")
    return value


def _bounded_int(literal: str) -> int:
    # Checking the length first also keeps int() clear of its 4,300-digit ValueError.
    if len(literal.lstrip("-")) > _MAX_INT_DIGITS or abs(int(literal)) > sys.float_info.max:
        raise BadRequest(f"the number {literal[:40]}... is outside the range of a double")
    return int(literal)


def in_double_range(number: float) -> bool:
    """Whether a number can be stored and sent as JSON: not NaN or ±Infinity, nor an int beyond a double."""
    if isinstance(number, int):  # exact comparison; math.isfinite would overflow on a huge int
        return abs(number) <= sys.float_info.max
    return math.isfinite(number)


def dumps(value: Any) -> str:
    """Compact JSON text, refusing NaN and ±Infinity (400) rather than writing invalid JSON."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise BadRequest("the value contains NaN or Infinity, which JSON cannot represent") from None


def parse_json(raw: bytes | str, what: str = "request body") -> Any:
    """Decode a JSON request body or header; malformed input is a 400 naming the problem."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                           parse_int=_bounded_int)
        if "\\u" in text:
            # \ud800-style escapes can smuggle lone surrogates, which are not Unicode text.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        _check_depth(value, what)
        return value
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:  # bytes that are not UTF-8; a lone surrogate
        raise BadRequest(f"the {what} is not valid Unicode text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the {what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadRequest(f"the {what} is nested too deeply") from None


def _check_depth(value: Any, what: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH (iteratively: deep input must not exhaust the stack)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"the {what} nests objects or arrays deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def serialize_item(document: dict[str, Any]) -> str:
    """The stored JSON text of an item; over 2 MB is a 413."""
    _check_depth(document, "item")
    text = dumps(document)
    if len(text.encode("utf-8")) > MAX_ITEM_BYTES:
        raise TooLarge(f"the item is larger than the {MAX_ITEM_BYTES}-byte limit")
    return text
