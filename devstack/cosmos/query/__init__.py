"""Cosmos DB NoSQL query language (a documented subset) for the devstack Cosmos emulator.

Pure Python, no I/O: ``parse_query`` turns text into a checked syntax tree, ``execute_query`` runs
it over documents. Supported grammar and semantics: docs/cosmos-query.md.
"""
from __future__ import annotations

from devstack.cosmos.query.errors import QueryError
from devstack.cosmos.query.executor import execute_query, iterate_query
from devstack.cosmos.query.nodes import Query
from devstack.cosmos.query.parser import parse_query

__all__ = ["Query", "QueryError", "execute_query", "iterate_query", "parse_query"]
