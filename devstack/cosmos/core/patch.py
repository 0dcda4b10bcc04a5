"""Partial document update (docs: "Partial document update in Azure Cosmos DB").

Operations: add, set, replace, remove, incr, move; paths are JSON Pointers (RFC 6901). A request carries at
most 10 operations; the id, the partition key paths and system properties cannot be patched.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from devstack.cosmos.core.documents import in_double_range
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.partition_keys import PartitionKeyDefinition

MAX_OPERATIONS = 10
_ARRAY_INDEX = re.compile(r"[0-9]{1,9}")
_SYSTEM_PROPERTIES = {"id", "_rid", "_self", "_etag", "_ts", "_attachments"}


def parse_patch_body(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Split a PATCH body ``{"operations": [...], "condition"?: "FROM c WHERE ..."}``."""
    if not isinstance(body, dict) or not isinstance(body.get("operations"), list):
        raise BadRequest("a patch body must be a JSON object with an 'operations' list")
    operations = body["operations"]
    if not operations:
        raise BadRequest("a patch needs at least one operation")
    if len(operations) > MAX_OPERATIONS:
        raise BadRequest(f"a patch has at most {MAX_OPERATIONS} operations, got {len(operations)}")
    condition = body.get("condition")
    if condition is not None and not isinstance(condition, str):
        raise BadRequest("the patch condition must be a string such as 'FROM c WHERE c.x = 1'")
    return operations, condition


def apply_patch(document: dict[str, Any], operations: list[Any], key: PartitionKeyDefinition) -> dict[str, Any]:
    """A copy of ``document`` with every operation applied in order (all or nothing)."""
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        try:
            _apply_one(result, operation, key)
        except BadRequest as exc:
            raise BadRequest(f"patch operation {index}: {exc.message}") from None
    return result


def _apply_one(document: dict[str, Any], operation: Any, key: PartitionKeyDefinition) -> None:
    if not isinstance(operation, dict):
        raise BadRequest("each operation must be an object with 'op' and 'path'")
    op = str(operation.get("op", "")).lower()
    path = _parse_pointer(operation.get("path"), key)
    if op in ("add", "set", "replace", "incr") and "value" not in operation:
        raise BadRequest(f"'{op}' needs a 'value'")
    if op == "add":
        _add(document, path, operation["value"], insert=True)
    elif op == "set":
        _add(document, path, operation["value"], insert=False)
    elif op == "replace":
        parent, last = _existing(document, path)
        parent[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        parent, last = _existing(document, path)
        del parent[last]
    elif op == "incr":
        _increment(document, path, operation["value"])
    elif op == "move":
        source = _parse_pointer(operation.get("from"), key)
        parent, last = _existing(document, source)
        value = parent[last]
        del parent[last]
        _add(document, path, value, insert=False)
    else:
        raise BadRequest(f"unknown patch operation {operation.get('op')!r} (add, set, replace, remove, incr, move)")


def _parse_pointer(path: Any, key: PartitionKeyDefinition) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise BadRequest(f"path {path!r} must be a JSON Pointer such as '/a/b'")
    segments = [s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/")]
    if segments[0] in _SYSTEM_PROPERTIES:
        raise BadRequest(f"path {path!r} names a system property, which cannot be patched")
    if key.is_partition_key_path(tuple(segments)):
        raise BadRequest(f"path {path!r} is (part of) the partition key, which cannot be patched")
    return segments


def _parent(document: Any, path: list[str]) -> Any:
    node = document
    for segment in path[:-1]:
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and (index := _index(segment, len(node) - 1)) is not None:
            node = node[index]
        else:
            raise BadRequest(f"the parent of /{'/'.join(path)} does not exist")
    return node


def _index(segment: str, upper: int) -> int | None:
    """The array index a path segment names if it is at most ``upper``, else None.

    RFC 6901 §4 allows only ASCII digits in an index; str.isdigit would also pass '²' (which int()
    refuses) or '٣' (which int() reads as 3), and more than 4,300 digits make int() raise. No array
    in a 2 MB item has more than 9 digits' worth of elements.
    """
    if _ARRAY_INDEX.fullmatch(segment) and int(segment) <= upper:
        return int(segment)
    return None


def _existing(document: Any, path: list[str]) -> tuple[Any, Any]:
    parent = _parent(document, path)
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        return parent, last
    if isinstance(parent, list) and _index(last, len(parent) - 1) is not None:
        return parent, _index(last, len(parent) - 1)
    raise BadRequest(f"path /{'/'.join(path)} does not exist")


def _add(document: Any, path: list[str], value: Any, insert: bool) -> None:
    parent = _parent(document, path)
    last, value = path[-1], copy.deepcopy(value)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif _index(last, len(parent)) is None:
            raise BadRequest(f"array index {last!r} is out of range at /{'/'.join(path)}")
        elif insert or int(last) == len(parent):
            parent.insert(int(last), value)
        else:
            parent[int(last)] = value
    else:
        raise BadRequest(f"the parent of /{'/'.join(path)} is neither an object nor an array")


def _increment(document: Any, path: list[str], amount: Any) -> None:
    if not _is_number(amount):
        raise BadRequest("'incr' needs a numeric value")
    parent = _parent(document, path)
    last = path[-1]
    if isinstance(parent, dict) and last not in parent:
        parent[last] = amount  # documented: a missing field is created with the increment
        return
    parent, last = _existing(document, path)
    if not _is_number(parent[last]):
        raise BadRequest(f"'incr' target /{'/'.join(path)} is not a number")
    total = parent[last] + amount
    if not in_double_range(total):  # inf is not JSON: the whole patch fails and nothing is written
        raise BadRequest(f"'incr' of /{'/'.join(path)} overflows the range of a double")
    parent[last] = total


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
