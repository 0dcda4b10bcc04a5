"""Pratt parser for Service Bus SQL filters: tokens in, a checked syntax tree out.

Grammar: "Subscription Rule SQL Filter Syntax"
(learn.microsoft.com/azure/service-bus-messaging/service-bus-messaging-sql-filter). Precedence is
T-SQL's, loosest first: OR, AND, NOT, comparisons/[NOT] IN/[NOT] LIKE/IS [NOT] NULL, + -, * / %,
unary + -. Comparisons do not chain (`a = b = c` is an error), as in T-SQL.
"""
from __future__ import annotations

from devstack.servicebus.core.sql_filter.ast import (
    EXPRESSION_TYPES,
    PREDICATE_TYPES,
    Arithmetic,
    Comparison,
    Exists,
    Expression,
    InList,
    IsNull,
    Like,
    Literal,
    Logical,
    Negate,
    Node,
    Not,
    Predicate,
    Property,
)
from devstack.servicebus.core.sql_filter.errors import SqlFilterError
from devstack.servicebus.core.sql_filter.lexer import INT64_MAX, INT64_MIN, Kind, Token, tokenize
from devstack.servicebus.core.sql_filter.like import LikePatternError, like_matcher

# Broker properties a filter may name as sys.<Name> (BrokeredMessage's public properties, which
# the docs point to). Names are case-insensitive; the canonical spelling is what the broker passes.
SYSTEM_PROPERTIES = {
    name.lower(): name
    for name in (
        "MessageId", "CorrelationId", "To", "ReplyTo", "Label", "SessionId", "ReplyToSessionId",
        "ContentType", "DeliveryCount", "SequenceNumber", "EnqueuedTimeUtc",
        "ScheduledEnqueueTimeUtc", "TimeToLive", "ExpiresAtUtc", "Size", "PartitionKey",
        "ViaPartitionKey", "EnqueuedSequenceNumber", "DeadLetterSource", "LockedUntilUtc",
        "LockToken", "State",
    )
}

# Deep enough for any realistic filter of at most 1,024 characters; shallow enough that neither the
# parser nor the evaluator can exhaust Python's recursion limit (a crash is never an answer).
MAX_NESTING = 100

_OR, _AND, _NOT, _COMPARE, _ADD, _MULTIPLY, _UNARY = 10, 20, 30, 40, 50, 60, 70
_COMPARISONS = ("=", "<>", "!=", ">", ">=", "<", "<=")
_UNSUPPORTED_FUNCTIONS = {"newid": "newid()", "property": "property(name)", "p": "p(name)"}
_ACTION_WORDS = ("SET", "REMOVE")


def parse(source: str) -> Predicate:
    """Parse a whole filter expression; it must be a predicate."""
    return _Parser(tokenize(source)).parse_filter()


class _Parser:
    """Top-down operator precedence parser over a token list."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._nesting = 0

    @property
    def _current(self) -> Token:
        return self._tokens[self._index]

    def _peek(self) -> Token:
        return self._tokens[min(self._index + 1, len(self._tokens) - 1)]

    def _advance(self) -> Token:
        token = self._current
        if token.kind is not Kind.END:
            self._index += 1
        return token

    def parse_filter(self) -> Predicate:
        """filter := predicate END."""
        self._reject_rule_action()
        node = self._parse(0)
        if self._current.kind is not Kind.END:
            raise SqlFilterError(f"unexpected {_describe(self._current)}", self._current.position)
        predicate = _require_predicate(node)
        _check_depth(predicate, MAX_NESTING)
        return predicate

    def _reject_rule_action(self) -> None:
        first, second = self._current, self._peek()
        if first.kind is Kind.IDENTIFIER and isinstance(first.value, str) and first.value.upper() in _ACTION_WORDS \
                and second.kind in (Kind.IDENTIFIER, Kind.NAME):
            raise SqlFilterError(
                "SQL rule actions (SET/REMOVE) are not supported; a filter is a predicate",
                first.position,
            )

    def _parse(self, right_binding: int) -> Node:
        self._nesting += 1
        if self._nesting > MAX_NESTING:
            raise SqlFilterError("expression is nested too deeply", self._current.position)
        left = self._prefix(self._advance())
        while right_binding < self._binding_power(self._current):
            left = self._infix(self._advance(), left)
        self._nesting -= 1
        return left

    def _binding_power(self, token: Token) -> int:
        if token.is_keyword("OR"):
            return _OR
        if token.is_keyword("AND"):
            return _AND
        if token.is_keyword("IN", "LIKE", "IS") or token.is_operator(*_COMPARISONS):
            return _COMPARE
        if token.is_keyword("NOT") and self._peek().is_keyword("IN", "LIKE"):
            return _COMPARE
        if token.is_operator("+", "-"):
            return _ADD
        if token.is_operator("*", "/", "%"):
            return _MULTIPLY
        return 0

    # -- prefix positions ------------------------------------------------------------------

    def _prefix(self, token: Token) -> Node:
        if token.kind is Kind.INTEGER and isinstance(token.value, int) and token.value > INT64_MAX:
            # The docs: integer constants are stored as System.Int64 and follow the same range.
            raise SqlFilterError(
                f"integer constant {token.text} is out of the Int64 range", token.position
            )
        if token.kind in (Kind.INTEGER, Kind.DECIMAL, Kind.STRING):
            return Literal(token.value, token.position)
        if token.is_keyword("TRUE", "FALSE", "NULL"):
            constants = {"TRUE": True, "FALSE": False, "NULL": None}
            return Literal(constants[str(token.value)], token.position)
        if token.kind in (Kind.IDENTIFIER, Kind.NAME):
            return self._name(token)
        if token.is_operator("("):
            inner = self._parse(0)
            self._expect(")", token)
            return inner
        if token.is_operator("-", "+"):
            return self._sign(token)
        if token.is_keyword("NOT"):
            return Not(_require_predicate(self._parse(_NOT)), token.position)
        if token.is_keyword("EXISTS"):
            return self._exists(token)
        raise SqlFilterError(
            f"expected a value or predicate, found {_describe(token)}", token.position
        )

    def _sign(self, token: Token) -> Expression:
        following = self._current
        if token.value == "-" and following.kind is Kind.INTEGER and following.value == -INT64_MIN:
            # Like C#, -9223372036854775808 is a valid constant although 9223372036854775808 is not.
            self._advance()
            return Literal(INT64_MIN, token.position)
        operand = _require_expression(self._parse(_UNARY))
        if token.value == "+":
            return operand
        if isinstance(operand, Literal) and type(operand.value) in (int, float):
            return Literal(-operand.value, token.position)
        return Negate(operand, token.position)

    def _exists(self, token: Token) -> Exists:
        self._expect("(", token)
        start = self._current.position
        operand = self._prefix(self._advance())
        if not isinstance(operand, Property):
            raise SqlFilterError("EXISTS takes a property name", start)
        self._expect(")", token)
        return Exists(operand, token.position)

    def _name(self, token: Token) -> Property:
        name = str(token.value)
        if self._current.is_operator("(") and token.kind is Kind.IDENTIFIER:
            shown = _UNSUPPORTED_FUNCTIONS.get(name.lower(), f"{name}()")
            raise SqlFilterError(
                f"function {shown} is not supported in SQL filters", token.position
            )
        if self._current.is_operator("."):
            return self._scoped(token, name.lower())
        return _user_property(name, token.position)

    def _scoped(self, scope_token: Token, scope: str) -> Property:
        if scope not in ("sys", "user"):
            raise SqlFilterError(
                f"unknown scope {scope_token.text!r}: use sys.<name> or user.<name>",
                scope_token.position,
            )
        self._advance()  # the '.'
        name_token = self._advance()
        if name_token.kind not in (Kind.IDENTIFIER, Kind.NAME, Kind.KEYWORD):
            raise SqlFilterError(
                f"expected a property name after '{scope_token.text}.', "
                f"found {_describe(name_token)}",
                name_token.position,
            )
        name = name_token.text if name_token.kind is Kind.KEYWORD else str(name_token.value)
        if scope == "user":
            return _user_property(name, scope_token.position)
        return _system_property(name, scope_token.position)

    # -- infix positions -------------------------------------------------------------------

    def _infix(self, token: Token, left: Node) -> Node:
        if token.is_keyword("AND", "OR"):
            return self._logical(token, left)
        if token.is_operator(*_COMPARISONS):
            if isinstance(left, PREDICATE_TYPES):
                raise SqlFilterError(
                    f"'{token.value}' cannot compare a predicate; comparisons do not chain",
                    token.position,
                )
            right = _require_expression(self._parse(_COMPARE))
            operator = "<>" if token.value == "!=" else str(token.value)
            return Comparison(operator, left, right, token.position)
        if token.is_operator("+", "-", "*", "/", "%"):
            left = _require_expression(left, token)
            right = _require_expression(self._parse(self._binding_power(token)))
            return Arithmetic(str(token.value), left, right, token.position)
        negated = token.is_keyword("NOT")
        keyword = self._advance() if negated else token
        if keyword.is_keyword("IN"):
            return self._in_list(keyword, _require_expression(left, token), negated, token.position)
        if keyword.is_keyword("LIKE"):
            return self._like(_require_expression(left, token), negated, token.position)
        return self._is_null(token, left)

    def _logical(self, token: Token, left: Node) -> Logical:
        operator = str(token.value)
        binding = _AND if operator == "AND" else _OR
        right = _require_predicate(self._parse(binding))
        left_predicate = _require_predicate(left)
        # AND and OR are associative, so a chain is one flat node: long filters stay shallow.
        if isinstance(left_predicate, Logical) and left_predicate.operator == operator:
            operands = (*left_predicate.operands, right)
            return Logical(operator, operands, left_predicate.position)
        return Logical(operator, (left_predicate, right), token.position)

    def _in_list(self, keyword: Token, operand: Expression, negated: bool, position: int) -> InList:
        opener = self._expect("(", keyword)
        if self._current.is_operator(")"):
            raise SqlFilterError("IN needs at least one value", opener.position)
        items = [_require_expression(self._parse(0))]
        while self._current.is_operator(","):
            self._advance()
            items.append(_require_expression(self._parse(0)))
        self._expect(")", keyword)
        return InList(operand, tuple(items), negated, position)

    def _like(self, operand: Expression, negated: bool, position: int) -> Like:
        pattern = _require_expression(self._parse(_COMPARE))
        escape = None
        if self._current.is_keyword("ESCAPE"):
            self._advance()
            escape = _require_expression(self._parse(_COMPARE))
        _check_constant_pattern(pattern, escape)
        return Like(operand, pattern, escape, negated, position)

    def _is_null(self, token: Token, left: Node) -> IsNull:
        negated = self._current.is_keyword("NOT")
        if negated:
            self._advance()
        null = self._advance()
        if not null.is_keyword("NULL"):
            raise SqlFilterError(f"expected NULL after IS, found {_describe(null)}", null.position)
        if not isinstance(left, Property):
            # The docs' grammar: <property> IS [NOT] NULL — only a property can be tested.
            raise SqlFilterError("IS [NOT] NULL applies to a property only", token.position)
        return IsNull(left, negated, token.position)

    def _expect(self, symbol: str, opened_by: Token) -> Token:
        token = self._advance()
        if not token.is_operator(symbol):
            raise SqlFilterError(
                f"expected '{symbol}' (for {_describe(opened_by)} at position "
                f"{opened_by.position}), found {_describe(token)}",
                token.position,
            )
        return token


def _check_constant_pattern(pattern: Expression, escape: Expression | None) -> None:
    """Report a bad constant LIKE pattern or escape now rather than failing every message later."""
    if isinstance(escape, Literal) and escape.value is not None and \
            (not isinstance(escape.value, str) or len(escape.value) != 1):
        raise SqlFilterError("ESCAPE must be a string of length 1", escape.position)
    if not isinstance(pattern, Literal) or pattern.value is None:
        return
    if not isinstance(pattern.value, str):
        raise SqlFilterError("LIKE pattern must be a string", pattern.position)
    escape_char = escape.value if isinstance(escape, Literal) else None
    try:
        like_matcher(pattern.value, escape_char)
    except LikePatternError as error:
        raise SqlFilterError(str(error), pattern.position) from error


def _user_property(name: str, position: int) -> Property:
    if not name:
        raise SqlFilterError("empty property name", position)
    return Property("user", name, position)


def _system_property(name: str, position: int) -> Property:
    canonical = SYSTEM_PROPERTIES.get(name.lower())
    if canonical is None:
        # The docs: "An attempt to access a nonexistent system property is an error".
        raise SqlFilterError(f"unknown system property 'sys.{name}'", position)
    return Property("sys", canonical, position)


def _require_expression(node: Node, operator: Token | None = None) -> Expression:
    if isinstance(node, EXPRESSION_TYPES):
        return node
    if operator is not None:
        raise SqlFilterError(
            f"{_describe(operator)} needs a value on its left, found a predicate", operator.position
        )
    raise SqlFilterError("expected a value here, found a predicate", _start(node))


def _require_predicate(node: Node) -> Predicate:
    if not isinstance(node, PREDICATE_TYPES):
        raise SqlFilterError(
            "expected a predicate (comparison, IN, LIKE, IS NULL, EXISTS), found a value",
            _start(node),
        )
    return node


def _start(node: Node) -> int:
    """Where a node's text begins (binary nodes are positioned at their operator)."""
    while isinstance(node, (Arithmetic, Comparison, Logical, InList, Like, IsNull)):
        node = node.operands[0] if isinstance(node, Logical) else _children(node)[0]
    return node.position


def _check_depth(node: Node, budget: int) -> None:
    """Refuse trees deeper than `budget`; stops descending once over, so it never recurses far."""
    if budget <= 0:
        raise SqlFilterError("expression is nested too deeply", node.position)
    for child in _children(node):
        _check_depth(child, budget - 1)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Arithmetic, Comparison)):
        return (node.left, node.right)
    if isinstance(node, (Negate, Not, IsNull, Exists)):
        return (node.operand,)
    if isinstance(node, Logical):
        return node.operands
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Like):
        return (node.operand, node.pattern) + ((node.escape,) if node.escape else ())
    return ()


def _describe(token: Token) -> str:
    if token.kind is Kind.END:
        return "end of expression"
    if token.kind is Kind.KEYWORD:
        return f"keyword {token.value}"
    return f"{token.kind.value} {token.text!r}"
