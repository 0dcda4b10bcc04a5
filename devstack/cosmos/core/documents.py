"""Parsing and serialising item JSON the way the service accepts it."""
from __future__ import annotations

import json
from typing import Any

from devstack.cosmos.core.errors import BadRequest, TooLarge

#: Documented limit: an item is at most 2 MB.
MAX_ITEM_BYTES = 2 * 1024 * 1024
#: Documented limit: objects and arrays nest at most 128 levels deep.
MAX_DEPTH = 128


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"malformed JSON: {name} is not a JSON value")


def parse_json(raw: bytes | str, what: str = "request body") -> Any:
    """Decode a JSON request body or header; malformed input is a 400 naming the problem."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_reject_constant)
        if "\\u" in text:
            # \ud800-style escapes can smuggle lone surrogates, which are not Unicode text.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        _check_depth(value, what)
        return value
    except UnicodeError as exc:
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
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_ITEM_BYTES:
        raise TooLarge(f"the item is larger than the {MAX_ITEM_BYTES}-byte limit")
    return text
