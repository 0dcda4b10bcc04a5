"""LIKE patterns: '%' is any run of characters, '_' any one, ESCAPE makes the next literal."""
from __future__ import annotations

import functools
import re


class LikePatternError(ValueError):
    """The pattern cannot be used (it ends with the escape character)."""


@functools.lru_cache(maxsize=1024)
def like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    """Translate a LIKE pattern into an anchored regular expression (use with fullmatch)."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape:
            if index + 1 >= len(pattern):
                raise LikePatternError("LIKE pattern ends with its escape character")
            # As in T-SQL, an escaped character is taken literally whether or not it is a wildcard.
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    # DOTALL: '%' and '_' match any character, line breaks included.
    return re.compile("".join(parts), re.DOTALL)
