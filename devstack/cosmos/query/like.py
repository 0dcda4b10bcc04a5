"""LIKE patterns translated to regular expressions.

https://learn.microsoft.com/azure/cosmos-db/nosql/query/keywords#like: ``%`` is any run of
characters, ``_`` exactly one, ``[abc]`` / ``[a-f]`` / ``[^a-f]`` one character from (or not from)
a set; the ESCAPE character makes the next character literal. Matching is case-sensitive and
covers the whole string.
"""
from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    """Compile a LIKE pattern; an unclosed ``[`` is taken literally."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char == "[" and "]" in pattern[index + 2:]:
            close = pattern.index("]", index + 2)
            parts.append(_char_class(pattern[index + 1:close]))
            index = close + 1
            continue
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _char_class(body: str) -> str:
    negated = body.startswith("^")
    body = body[1:] if negated else body
    # Escape everything except '-' between two characters, which keeps its range meaning.
    escaped = "".join(
        "-" if ch == "-" and 0 < i < len(body) - 1 else re.escape(ch) for i, ch in enumerate(body)
    )
    return f"[{'^' if negated else ''}{escaped}]"
