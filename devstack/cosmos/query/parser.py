"""Parser for whole queries: the clauses around the scalar expressions.

Grammar (https://learn.microsoft.com/azure/cosmos-db/nosql/query/select and the pages for each
clause), as implemented here::

    SELECT [DISTINCT] [TOP n] { * | VALUE expr | expr [[AS] name], ... }
    [FROM { container[.path] [[AS] alias] | alias IN container.path }]
    [WHERE expr] [GROUP BY expr, ...] [ORDER BY expr [ASC|DESC], ...] [OFFSET n LIMIT m]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from devstack.cosmos.query.analysis import check_query
from devstack.cosmos.query.errors import QueryError, unsupported
from devstack.cosmos.query.expressions import ExpressionParser, TokenStream
from devstack.cosmos.query.lexer import Kind, tokenize
from devstack.cosmos.query.nodes import Expr, FromClause, Literal, Param, Query, SelectItem, SortKey

T = TypeVar("T")


def parse_query(text: str) -> Query:
    """Parse and check a query; raises QueryError naming the first problem and where it is."""
    if not isinstance(text, str):
        raise QueryError("query text must be a string")
    query = _QueryParser(text).parse()
    check_query(query)
    return query


class _QueryParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.stream = TokenStream(tokenize(text))
        self.expressions = ExpressionParser(self.stream)

    def parse(self) -> Query:
        stream = self.stream
        stream.expect_keyword("SELECT")
        fields: dict[str, Any] = {"text": self.text}
        fields.update(self._select_modifiers())
        fields["select_pos"] = stream.current.pos
        fields.update(self._selection())
        if stream.accept_keyword("FROM"):
            fields["source"] = self._from()
        if stream.current.is_keyword("JOIN"):
            raise unsupported("JOIN", stream.current.pos)
        if stream.accept_keyword("WHERE"):
            fields["where"] = self.expressions.parse()
        if stream.current.is_keyword("GROUP"):
            stream.advance()
            stream.expect_keyword("BY")
            fields["group_by"] = tuple(self._comma_list(self.expressions.parse))
        if stream.current.is_keyword("HAVING"):
            raise unsupported("HAVING", stream.current.pos)
        if stream.current.is_keyword("ORDER"):
            fields["order_by"] = self._order_by()
        if stream.accept_keyword("OFFSET"):
            fields["offset"] = self._count("OFFSET")
            stream.expect_keyword("LIMIT")
            fields["limit"] = self._count("LIMIT")
        if stream.current.kind is not Kind.EOF:
            raise stream.unexpected("end of query")
        return Query(**fields)

    def _select_modifiers(self) -> dict[str, Any]:
        # The documented order is DISTINCT then TOP; either order is accepted.
        found: dict[str, Any] = {}
        while True:
            if "distinct" not in found and self.stream.accept_keyword("DISTINCT"):
                found["distinct"] = True
            elif "top" not in found and self.stream.accept_keyword("TOP"):
                found["top"] = self._count("TOP")
            else:
                return found

    def _count(self, clause: str) -> Expr:
        """A TOP/OFFSET/LIMIT argument: a non-negative integer literal or a parameter."""
        token = self.stream.current
        if token.kind is Kind.PARAM:
            self.stream.advance()
            return Param(str(token.value), token.pos)
        if token.kind is Kind.NUMBER and isinstance(token.value, int):
            self.stream.advance()
            return Literal(token.value, token.pos)
        raise self.stream.unexpected(f"a non-negative integer or parameter after {clause}")

    def _selection(self) -> dict[str, Any]:
        stream = self.stream
        if stream.current.is_op("*"):
            stream.advance()
            return {"select_star": True}
        if stream.accept_keyword("VALUE"):
            if stream.current.is_op("*"):
                raise QueryError("'SELECT VALUE *' is not valid", stream.current.pos)
            return {"select_value": self.expressions.parse()}
        return {"items": tuple(self._comma_list(self._select_item))}

    def _select_item(self) -> SelectItem:
        stream = self.stream
        start = stream.current
        if start.is_op("*"):
            raise QueryError("'*' must be the only item in the select list", start.pos)
        expr = self.expressions.parse()
        alias = None
        if stream.accept_keyword("AS") or stream.current.kind is Kind.IDENT:
            alias = self._name("an alias")
        return SelectItem(expr, alias, start.pos)

    def _name(self, what: str) -> str:
        token = self.stream.current
        if token.kind is not Kind.IDENT:
            raise self.stream.unexpected(what)
        self.stream.advance()
        return str(token.value)

    def _comma_list(self, parse_one: Callable[[], T]) -> list[T]:
        items = [parse_one()]
        while self.stream.accept_op(","):
            items.append(parse_one())
        return items

    def _from(self) -> FromClause:
        stream = self.stream
        start = stream.current
        if start.is_op("("):
            raise unsupported("subquery in FROM", start.pos)
        if start.kind is Kind.IDENT and stream.peek().is_keyword("IN"):
            alias = self._name("an alias")
            stream.advance()
            path = self._container_path()
            if not path:
                raise QueryError("FROM ... IN needs a property path, e.g. FROM t IN c.tags", start.pos)
            return FromClause(alias, path, True, start.pos)
        container = stream.current
        path = self._container_path()
        if stream.accept_keyword("AS") or stream.current.kind is Kind.IDENT:
            return FromClause(self._name("an alias"), path, False, start.pos)
        if path:
            raise QueryError("FROM with a property path needs an alias, e.g. FROM c.address a", start.pos)
        return FromClause(container.text, (), False, start.pos)

    def _container_path(self) -> tuple[str | int, ...]:
        """``container`` (any name, ``root`` included) then ``.name`` / ``["name"]`` / ``[0]`` steps."""
        stream = self.stream
        if stream.current.kind is not Kind.IDENT:
            raise stream.unexpected("a container name or ROOT")
        stream.advance()
        path: list[str | int] = []
        while True:
            if stream.accept_op("."):
                if stream.current.kind not in (Kind.IDENT, Kind.KEYWORD):
                    raise stream.unexpected("a property name after '.'")
                path.append(stream.advance().text)
            elif stream.accept_op("["):
                step, value = stream.current, stream.current.value
                if (step.kind is Kind.STRING and isinstance(value, str)) or \
                        (step.kind is Kind.NUMBER and isinstance(value, int)):
                    stream.advance()
                    path.append(value)
                else:
                    raise stream.unexpected("a property name or array index")
                stream.expect_op("]")
            else:
                return tuple(path)

    def _order_by(self) -> tuple[SortKey, ...]:
        stream = self.stream
        stream.advance()
        stream.expect_keyword("BY")
        # RANK is not reserved (a document may have a property of that name): only "RANK f(...)" is.
        if str(stream.current.value).upper() == "RANK" and stream.peek().kind is Kind.IDENT:
            raise unsupported("ORDER BY RANK", stream.current.pos)
        return tuple(self._comma_list(self._sort_key))

    def _sort_key(self) -> SortKey:
        expr = self.expressions.parse()
        if self.stream.accept_keyword("DESC"):
            return SortKey(expr, True)
        self.stream.accept_keyword("ASC")
        return SortKey(expr, False)
