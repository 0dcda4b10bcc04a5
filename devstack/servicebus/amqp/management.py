"""The ``<entity>/$management`` request/response node (Service Bus AMQP management operations).

Operations and field names: learn.microsoft.com/azure/service-bus-messaging/
service-bus-amqp-request-response, as sent by azure-servicebus (``_common/constants.py``).
Replies carry ``statusCode``/``statusDescription`` (+ ``errorCondition``) application properties.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from proton import UNDESCRIBED, Array, Data, symbol, timestamp

from devstack.servicebus.amqp import codec
from devstack.servicebus.amqp.errors import condition_for, status_for
from devstack.servicebus.core import management as ops
from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.entity import Entity
from devstack.servicebus.core.errors import BrokerError, InvalidOperation
from devstack.servicebus.core.settlement import settle_many

log = logging.getLogger(__name__)

Reply = tuple[int, Any]


class ManagementNode:
    """Answers management requests for one entity path."""

    def __init__(self, broker: Broker, path: str, owner: object) -> None:
        self.broker = broker
        self.path = path
        self.owner = owner  # holds locks of deferred messages received through this node
        self._ops: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "com.microsoft:renew-lock": self._renew_lock,
            "com.microsoft:peek-message": self._peek,
            "com.microsoft:receive-by-sequence-number": self._receive_deferred,
            "com.microsoft:update-disposition": self._update_disposition,
            "com.microsoft:renew-session-lock": self._renew_session_lock,
            "com.microsoft:get-session-state": self._get_session_state,
            "com.microsoft:set-session-state": self._set_session_state,
            "com.microsoft:schedule-message": self._schedule,
            "com.microsoft:cancel-scheduled-message": self._cancel_scheduled,
            "com.microsoft:get-message-sessions": self._list_sessions,
        }

    def handle(self, request: bytes) -> tuple[bytes, str | None]:
        """Process one encoded request; returns the encoded reply and the reply-to address."""
        props: list[Any] = [None] * 13
        operation = ""
        try:
            # Parsing is inside the try: malformed request bytes get a 400 reply, not a dropped link.
            props, app, body = _parse(request)
            operation = str(app.get("operation", ""))
            handler = self._ops.get(operation)
            if handler is None:
                raise InvalidOperation(f"operation {operation!r} is not supported by devstack")
            status, value = handler(body)
            reply_props = {"statusCode": status, "statusDescription": "OK" if status < 300 else "No content"}
        except BrokerError as exc:
            status, value = status_for(exc), None
            reply_props = {"statusCode": status, "statusDescription": str(exc),
                           "errorCondition": symbol(condition_for(exc))}
            log.info("%s %s on %s refused: %s", operation, status, self.path, exc)
        except (KeyError, TypeError, ValueError) as exc:
            status, value = 400, None
            reply_props = {"statusCode": 400, "statusDescription": f"bad request: {exc}",
                           "errorCondition": symbol("com.microsoft:argument-error")}
        except Exception:
            log.exception("%s on %s failed", operation, self.path)
            status, value = 500, None
            reply_props = {"statusCode": 500, "statusDescription": "internal error in devstack broker",
                           "errorCondition": symbol("amqp:internal-error")}
        return _reply(props[0], reply_props, value), _text(props[4])

    # --- operations ---------------------------------------------------------------------------

    def _entity(self) -> Entity:
        return self.broker.receivable(self.path)

    def _renew_lock(self, body: dict[str, Any]) -> Reply:
        tokens = [_token(t) for t in _items(body["lock-tokens"])]
        expiries = ops.renew_locks(self.broker, self._entity(), tokens)
        return 200, {"expirations": _array(Data.TIMESTAMP, *[_ts(e) for e in expiries])}

    def _peek(self, body: dict[str, Any]) -> Reply:
        found = ops.peek(self._entity(), int(body.get("from-sequence-number") or 0),
                         int(body.get("message-count") or 1), _opt_text(body.get("session-id")))
        if not found:
            return 204, None
        return 200, {"messages": [{"message": codec.encode_for_delivery(m, locked_until=None)} for m in found]}

    def _receive_deferred(self, body: dict[str, Any]) -> Reply:
        # receiver-settle-mode: 1 (second) = peek-lock, 0 (first) = receive-and-delete.
        peek_lock = int(body.get("receiver-settle-mode", 1)) != 0
        seqs = [int(s) for s in _items(body["sequence-numbers"])]
        locked = ops.receive_deferred(self.broker, self._entity(), seqs, peek_lock=peek_lock, owner=self.owner,
                                      session_id=_opt_text(body.get("session-id")))
        messages = []
        for item in locked:
            entry: dict[str, Any] = {"message": codec.encode_for_delivery(item.message,
                                                                         locked_until=item.locked_until)}
            if item.token is not None:
                entry["lock-token"] = uuid.UUID(bytes_le=item.token)
            messages.append(entry)
        return 200, {"messages": messages}

    def _update_disposition(self, body: dict[str, Any]) -> Reply:
        tokens = [_token(t) for t in _items(body["lock-tokens"])]
        settle_many(self.broker, tokens, str(body["disposition-status"]),
                    _opt_text(body.get("deadletter-reason")), _opt_text(body.get("deadletter-description")))
        return 200, {}

    def _renew_session_lock(self, body: dict[str, Any]) -> Reply:
        until = ops.renew_session_lock(self.broker, self._entity(), str(body["session-id"]))
        return 200, {"expiration": _ts(until)}

    def _get_session_state(self, body: dict[str, Any]) -> Reply:
        state = ops.get_session_state(self.broker, self._entity(), str(body["session-id"]))
        return 200, {"session-state": state}

    def _set_session_state(self, body: dict[str, Any]) -> Reply:
        state = body.get("session-state")
        ops.set_session_state(self.broker, self._entity(), str(body["session-id"]),
                              bytes(state) if state is not None else None)
        return 200, {}

    def _schedule(self, body: dict[str, Any]) -> Reply:
        envelopes = [codec.read_envelope(bytes(_get(m, "message"))) for m in _items(body["messages"])]
        seqs = self.broker.send(self.path, envelopes)
        return 200, {"sequence-numbers": _array(Data.LONG, *seqs)}

    def _cancel_scheduled(self, body: dict[str, Any]) -> Reply:
        ops.cancel_scheduled(self.broker, self.path, [int(s) for s in _items(body["sequence-numbers"])])
        return 200, {}

    def _list_sessions(self, body: dict[str, Any]) -> Reply:
        sessions = self._entity().session_ids()
        skip = int(body.get("skip") or 0)
        top = int(body.get("top") or len(sessions) or 1)
        page = sessions[skip:skip + top]
        if not page:
            return 204, None
        return 200, {"sessions-ids": page, "skip": skip + len(page)}


def _parse(request: bytes) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """Properties (padded to 13 fields), application properties and body map of a request."""
    parts = codec.sections(request)
    props = _section(request, parts, codec.PROPERTIES)
    app = _section(request, parts, codec.APPLICATION_PROPERTIES)
    if not isinstance(props, (list, type(None))) or not isinstance(app, (dict, type(None))):
        raise codec.CodecError("properties must be a list and application-properties a map")
    body = _section(request, parts, codec.VALUE)
    return (list(props or []) + [None] * 13, {str(k): v for k, v in (app or {}).items()},
            {str(k): v for k, v in body.items()} if isinstance(body, dict) else {})


def _section(buf: bytes, parts: list[tuple[int, int, int]], code: int) -> Any:
    for part_code, start, end in parts:
        if part_code == code:
            return codec.decode_value(buf[start:end])
    return None


def _items(value: Any) -> list[Any]:
    if isinstance(value, Array):
        return list(value.elements)
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"expected a list, got {type(value).__name__}")


def _get(mapping: Any, key: str) -> Any:
    for candidate in (key, symbol(key), key.encode()):
        if candidate in mapping:
            return mapping[candidate]
    raise KeyError(key)


def _token(value: Any) -> bytes:
    # The SDK reads the delivery tag as uuid.UUID(bytes_le=tag) and sends that UUID back.
    if isinstance(value, uuid.UUID):
        return value.bytes_le
    return bytes(value)


def _ts(seconds: float) -> timestamp:
    return timestamp(int(seconds * 1000))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _array(type_code: int, *elements: Any) -> Array:
    """An AMQP array without a descriptor."""
    # proton annotates Array's descriptor as PythonAMQPData, a union that leaves out proton's own UNDESCRIBED.
    return Array(UNDESCRIBED, type_code, *elements)  # type: ignore[arg-type]


def _opt_text(value: Any) -> str | None:
    return _text(value)


def _reply(correlation_id: Any, application_properties: dict[Any, Any], value: Any) -> bytes:
    properties = [None, None, None, None, None, correlation_id]
    out = [codec.encode_value(codec.Described(codec.ulong(codec.PROPERTIES), properties)),
           codec.encode_value(codec.Described(codec.ulong(codec.APPLICATION_PROPERTIES), application_properties)),
           codec.encode_value(codec.Described(codec.ulong(codec.VALUE), value))]
    return b"".join(out)
