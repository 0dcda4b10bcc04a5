"""Whatever text and parameters arrive, the engine answers with a result or a QueryError, never
another exception (the HTTP layer maps QueryError to 400; anything else would be a 500)."""
from __future__ import annotations

import json
import random
from typing import Any

from devstack.cosmos.query import QueryError, execute_query, parse_query

SEED_QUERIES = [
    "SELECT * FROM c WHERE c.a = 1 AND NOT c.b ORDER BY c.a DESC OFFSET 1 LIMIT 2",
    "SELECT DISTINCT TOP 3 VALUE {\"k\": c.a, \"t\": [c.b, 'x']} FROM c WHERE c.s LIKE 'a%' ESCAPE '!'",
    "SELECT c.a, COUNT(1) AS n, SUM(c.b) FROM c WHERE c.a IN (1, 2, @p) GROUP BY c.a",
    "SELECT VALUE c.a ?? c.b > 1 ? LOWER(c.s) || 'x' : ROUND(c.b / 0) FROM c WHERE c.b BETWEEN -1 AND 5e3",
    "SELECT VALUE t FROM t IN c.tags WHERE ARRAY_CONTAINS(@q, t, true) OR STARTSWITH(t, 'a', true)",
    "SELECT c['weird key'], c.tags[0], (100 >> 2) | 7 AS bits FROM root c ORDER BY c.s",
]
TOKENS = [
    "SELECT", "VALUE", "DISTINCT", "TOP", "FROM", "WHERE", "ORDER BY", "GROUP BY", "OFFSET", "LIMIT", "IN",
    "BETWEEN", "LIKE", "ESCAPE", "AND", "OR", "NOT", "AS", "JOIN", "c", "c.a", "c.b", "c.s", "c.tags", "t",
    "@p", "@q", "1", "-2.5", "1e3", "'s'", "\"d\"", "null", "true", "undefined", "(", ")", "[", "]", "{", "}",
    ",", ".", ":", "?", "??", "*", "/", "%", "+", "-", "=", "!=", "<", ">=", "||", "&", ">>>", "~",
    "COUNT(", "SUM(", "MIN(", "LENGTH(", "SUBSTRING(", "ARRAY_CONTAINS(", "udf.f(", "ST_WITHIN(", "--", "\\", "'",
]
DOCUMENTS: list[dict[str, Any]] = [
    {"a": 1, "b": 2, "s": "abc", "tags": ["a", "b"], "weird key": 1},
    {"a": "1", "b": None, "s": 5, "tags": [{"k": 1}], "n": {"x": [1, {"y": True}]}},
    {"a": [1, 2], "b": 1.5e300, "s": "", "tags": "not-an-array"},
    {},
]
PARAMETER_CHOICES: list[Any] = [1, -1, 0, 2.5, "a", None, True, [1, "a"], {"k": 1}, 10**30]


def _run(text: str, rng: random.Random) -> None:
    parameters = {"@p": rng.choice(PARAMETER_CHOICES), "@q": rng.choice(PARAMETER_CHOICES)}
    try:
        result = execute_query(parse_query(text), DOCUMENTS, parameters)
    except QueryError:
        return
    # Results must be plain JSON: no undefined and no NaN/infinity may leak out.
    json.dumps(result, allow_nan=False)


def _mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(chars) + 1)
        action = rng.random()
        if action < 0.4 and chars:
            del chars[min(position, len(chars) - 1)]
        elif action < 0.8:
            chars.insert(position, rng.choice(" ()[]{}.,'\"@*-+=<>!?|&%:0aZ_\\"))
        else:
            chars.insert(position, f" {rng.choice(TOKENS)} ")
    return "".join(chars)


def test_random_token_soup_only_ever_raises_query_error() -> None:
    rng = random.Random(20261127)
    for _ in range(1500):
        _run(" ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 14))), rng)


def test_mutated_valid_queries_only_ever_raise_query_error() -> None:
    rng = random.Random(42)
    for _ in range(1500):
        _run(_mutate(rng.choice(SEED_QUERIES), rng), rng)


def test_random_characters_only_ever_raise_query_error() -> None:
    rng = random.Random(7)
    alphabet = "SELECTVALUEFROMWHEREcab @'\"\\()[]{}.,:;?*/%+-=<>!|&^~0123456789eE_\n\t\u00e9\u0000\ud800"
    for _ in range(1500):
        _run("SELECT " + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))), rng)


def test_seed_queries_are_valid() -> None:
    for text in SEED_QUERIES:
        execute_query(parse_query(text), DOCUMENTS, {"@p": 1, "@q": 2})
