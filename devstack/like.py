"""A linear-time matcher for SQL ``LIKE`` patterns, shared by the Cosmos DB query engine and the
Service Bus SQL filter engine.

Each dialect parses its own pattern syntax (Cosmos DB: ``%``, ``_``, ``[abc]``, ``[a-f]``,
``[^a-f]``, ESCAPE; Service Bus: ``%``, ``_``, ESCAPE) into a sequence of *elements*: ``ANY_RUN``
(``%``), or a single-character test (a literal character, ``ANY_CHAR`` or a ``CharClass``). This
module only matches such a sequence against a whole string.

Why not a regular expression: ``re`` backtracks, and a pattern such as ``%a%a%a%a%a%a%a%a%a%a%b``
against 36 ``a`` characters took seconds (exponential in the number of ``%``), stalling the event
loop of the server that evaluated it.

The algorithm is the classic greedy one for wildcards. The ``%`` runs cut the pattern into
segments of single-character tests, each of fixed length. The first segment must match at the
start of the text and the last one at the end; every segment in between is matched at its
*leftmost* position after the previous one. Taking the leftmost place is always safe: any match
that uses a later place for a segment leaves no more room for the segments after it, so no choice
ever needs to be undone (no backtracking). Cost: each middle segment is tried at most once per text
position, so matching takes O(n·m) character tests in the worst case (n = text length, m = pattern
length), with no memory beyond the compiled pattern; segments of plain characters are searched by
``str.find``, in C.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class _Wildcard:
    """``ANY_RUN`` (any run of characters, ``%``) or ``ANY_CHAR`` (exactly one character, ``_``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


ANY_RUN = _Wildcard("ANY_RUN")
ANY_CHAR = _Wildcard("ANY_CHAR")


@dataclass(frozen=True)
class CharClass:
    """One character from (or, when ``negated``, not from) a set of inclusive ranges."""

    ranges: tuple[tuple[str, str], ...]
    negated: bool = False

    def accepts(self, char: str) -> bool:
        """Whether ``char`` is in the set (outside it, for a negated set)."""
        inside = any(low <= char <= high for low, high in self.ranges)
        return inside != self.negated


#: A pattern element: a literal character (a 1-character str), ANY_CHAR, a CharClass, or ANY_RUN.
Element = str | _Wildcard | CharClass
_Segment = str | tuple[Element, ...]  # plain characters as one str, else the element tests


def _accepts(test: Element, char: str) -> bool:
    if isinstance(test, str):
        return test == char
    if test is ANY_CHAR:
        return True
    return isinstance(test, CharClass) and test.accepts(char)


def _segment(tests: list[Element]) -> _Segment:
    chars = [test for test in tests if isinstance(test, str)]
    if len(chars) == len(tests):  # only plain characters
        return "".join(chars)
    return tuple(tests)


class LikeMatcher:
    """A compiled pattern; ``matches(text)`` tests the whole text against it."""

    def __init__(self, elements: Sequence[Element]) -> None:
        segments: list[list[Element]] = [[]]
        for element in elements:
            if element is ANY_RUN:
                segments.append([])
            else:
                segments[-1].append(element)
        self._has_run = len(segments) > 1
        self._head = _segment(segments[0])
        self._tail = _segment(segments[-1]) if self._has_run else ""
        # Consecutive '%' leave empty segments, which match anywhere and are dropped.
        self._middle = [_segment(tests) for tests in segments[1:-1] if tests]
        self._minimum = len(self._head) + len(self._tail) + sum(len(s) for s in self._middle)

    def matches(self, text: str) -> bool:
        """Whether the pattern matches all of ``text``."""
        if not self._has_run:
            return len(text) == len(self._head) and _match_at(self._head, text, 0)
        if len(text) < self._minimum:
            return False
        end = len(text) - len(self._tail)
        if not _match_at(self._head, text, 0) or not _match_at(self._tail, text, end):
            return False
        position = len(self._head)
        for segment in self._middle:
            found = _find(segment, text, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True


def _match_at(segment: _Segment, text: str, start: int) -> bool:
    """Whether ``segment`` matches ``text`` at ``start`` (the caller checked it fits)."""
    if isinstance(segment, str):
        return text.startswith(segment, start)
    return all(_accepts(test, text[start + offset]) for offset, test in enumerate(segment))


def _find(segment: _Segment, text: str, start: int, end: int) -> int:
    """The leftmost position >= ``start`` where ``segment`` matches wholly before ``end``, or -1."""
    if isinstance(segment, str):
        return text.find(segment, start, end)
    last = end - len(segment)
    # Jump between occurrences of the segment's first plain character, if it has one.
    anchor = next(((i, test) for i, test in enumerate(segment) if isinstance(test, str)), None)
    position = start
    while position <= last:
        if anchor is not None:
            found = text.find(anchor[1], position + anchor[0], last + anchor[0] + 1)
            if found < 0:
                return -1
            position = found - anchor[0]
        if _match_at(segment, text, position):
            return position
        position += 1
    return -1
