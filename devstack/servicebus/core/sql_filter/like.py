"""LIKE patterns: '%' is any run of characters, '_' any one, ESCAPE makes the next literal.

Compiled for the shared linear-time matcher (devstack/like.py: O(n·m) worst case, no backtracking)
rather than a regular expression, whose backtracking made patterns such as '%a%a%a%a%a%b' take
seconds against a short property value.
"""
from __future__ import annotations

import functools

from devstack.like import ANY_CHAR, ANY_RUN, Element, LikeMatcher


class LikePatternError(ValueError):
    """The pattern cannot be used (it ends with the escape character)."""


#: A constant pattern fits in a filter expression (at most 1,024 characters) and is cached; a longer
#: one can only come from a property value, and is not kept.
_CACHED_PATTERN_LENGTH = 1024


def like_matcher(pattern: str, escape: str | None) -> LikeMatcher:
    """Compile a LIKE pattern; ``matches(value)`` tests the whole value against it."""
    if len(pattern) <= _CACHED_PATTERN_LENGTH:
        return _cached(pattern, escape)
    return _compile(pattern, escape)


@functools.lru_cache(maxsize=1024)
def _cached(pattern: str, escape: str | None) -> LikeMatcher:
    return _compile(pattern, escape)


def _compile(pattern: str, escape: str | None) -> LikeMatcher:
    elements: list[Element] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape:
            if index + 1 >= len(pattern):
                raise LikePatternError("LIKE pattern ends with its escape character")
            # As in T-SQL, an escaped character is taken literally whether or not it is a wildcard.
            elements.append(pattern[index + 1])
            index += 2
            continue
        # '%' and '_' match any character, line breaks included.
        elements.append(ANY_RUN if char == "%" else ANY_CHAR if char == "_" else char)
        index += 1
    return LikeMatcher(elements)
