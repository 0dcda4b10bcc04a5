"""LIKE patterns of the Cosmos DB query language, compiled for the shared linear-time matcher.

https://learn.microsoft.com/azure/cosmos-db/nosql/query/keywords#like: ``%`` is any run of
characters, ``_`` exactly one, ``[abc]`` / ``[a-f]`` / ``[^a-f]`` one character from (or not from)
a set; the ESCAPE character makes the next character literal. Matching is case-sensitive and
covers the whole string. Brackets also quote a wildcard (``[%]``, ``[_]``, ``[[]``).

Details the page leaves open, as implemented here: a ``[`` without a ``]`` at least two characters
later is a literal ``[``; the set ends at the first ``]`` after the character following ``[``, so
``[]]`` is the set of ``]``; a ``-`` between two characters of a set is a range, elsewhere literal;
an ESCAPE character at the very end is literal. ``[^]`` (a negated set of nothing) and a reversed
range such as ``[z-a]`` are refused with LikePatternError naming the fault: the page defines no
meaning for them, and a 400 that says so beats a pattern silently matching nothing.
Matching is O(n·m) in the worst case (devstack/like.py), never exponential.
"""
from __future__ import annotations

from functools import lru_cache

from devstack.like import ANY_CHAR, ANY_RUN, CharClass, Element, LikeMatcher

#: Patterns up to this length are cached compiled; a longer one (say, a 2 MB parameter) is not kept.
_CACHED_PATTERN_LENGTH = 1024


class LikePatternError(ValueError):
    """A LIKE pattern that cannot be compiled; the message names the fault."""


def compile_like(pattern: str, escape: str | None) -> LikeMatcher:
    """The matcher for ``pattern`` with the optional one-character ``escape``."""
    if len(pattern) <= _CACHED_PATTERN_LENGTH:
        return _compile_cached(pattern, escape)
    return LikeMatcher(_elements(pattern, escape))


@lru_cache(maxsize=256)
def _compile_cached(pattern: str, escape: str | None) -> LikeMatcher:
    return LikeMatcher(_elements(pattern, escape))


def _elements(pattern: str, escape: str | None) -> list[Element]:
    elements: list[Element] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape and index + 1 < len(pattern):
            elements.append(pattern[index + 1])
            index += 2
            continue
        close = pattern.find("]", index + 2) if char == "[" else -1
        if close >= 0:
            elements.append(_char_class(pattern, index, close))
            index = close + 1
            continue
        elements.append(ANY_RUN if char == "%" else ANY_CHAR if char == "_" else char)
        index += 1
    return elements


def _char_class(pattern: str, start: int, close: int) -> CharClass:
    """The set ``pattern[start:close + 1]``, i.e. ``[body]``."""
    body = pattern[start + 1:close]
    negated = body.startswith("^")
    if negated:
        body = body[1:]
        if not body:
            raise LikePatternError(f"the set '[^]' at position {start} of the LIKE pattern is empty; "
                                   "write '[^...]' with at least one character, or '[[]^]' for the text '[^]'")
    ranges: list[tuple[str, str]] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            low, high = body[index], body[index + 2]
            if low > high:
                raise LikePatternError(f"the range '{low}-{high}' at position {start} of the LIKE pattern is "
                                       f"reversed; write '{high}-{low}'")
            ranges.append((low, high))
            index += 3
        else:
            ranges.append((body[index], body[index]))
            index += 1
    return CharClass(tuple(ranges), negated)
