"""The Config.json the contract tests run the broker with: short locks and TTLs keep tests fast."""
from __future__ import annotations

from typing import Any


def _queue(name: str, **props: Any) -> dict[str, Any]:
    return {"Name": name, "Properties": {"LockDuration": "PT5S", "MaxDeliveryCount": 10, **props}}


def _sub(name: str, rules: list[dict[str, Any]] | None = None, **props: Any) -> dict[str, Any]:
    return {"Name": name, "Properties": {"LockDuration": "PT5S", "MaxDeliveryCount": 10, **props},
            "Rules": rules or []}


def _correlation(name: str, **fields: Any) -> dict[str, Any]:
    return {"Name": name, "Properties": {"FilterType": "Correlation", "CorrelationFilter": fields}}


def _sql(name: str, expression: str) -> dict[str, Any]:
    return {"Name": name, "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": expression}}}


CONFIG: dict[str, Any] = {"UserConfig": {"Namespaces": [{
    "Name": "sbemulatorns",
    "Queues": [
        _queue("basic"), _queue("batch"), _queue("rad"), _queue("prefetch"), _queue("iter"), _queue("multi"),
        _queue("settle"), _queue("defer"), _queue("deadletter"),
        _queue("short-lock", LockDuration="PT1S"), _queue("renew", LockDuration="PT1S"),
        _queue("autorenew", LockDuration="PT1S"), _queue("late-settle", LockDuration="PT1S"),
        _queue("max-delivery", MaxDeliveryCount=2),
        _queue("ttl-dlq", DeadLetteringOnMessageExpiration=True),
        _queue("ttl-drop", DefaultMessageTimeToLive="PT1S"),
        _queue("sessions", RequiresSession=True),
        _queue("session-next", RequiresSession=True), _queue("session-exclusive", RequiresSession=True),
        _queue("session-fifo", RequiresSession=True), _queue("session-state", RequiresSession=True),
        _queue("session-expiry", RequiresSession=True, LockDuration="PT1S"),
        _queue("session-dlq", RequiresSession=True, MaxDeliveryCount=1),
        _queue("scheduled"), _queue("peek"), _queue("list-sessions", RequiresSession=True),
        _queue("scheduled-sessions", RequiresSession=True),
        _queue("dedupe", RequiresDuplicateDetection=True, DuplicateDetectionHistoryTimeWindow="PT3S"),
        _queue("forward-target"), _queue("forward-session-target", RequiresSession=True),
        _queue("forwarding-queue", ForwardTo="forward-target"),
        _queue("dl-forwarding", ForwardDeadLetteredMessagesTo="dl-target", MaxDeliveryCount=1),
        _queue("dl-target"),
        _queue("errors"), _queue("session-errors", RequiresSession=True), _queue("aio"),
        _queue("disconnect"), _queue("disconnect-session", RequiresSession=True),
        _queue("aio-sessions", RequiresSession=True),
        _queue("ended-session"), _queue("malformed"),
        _queue("hop-a", ForwardTo="hop-b"), _queue("hop-b", ForwardTo="hop-a"),
        _queue("scheduled-forwarding", ForwardTo="scheduled-forward-target"), _queue("scheduled-forward-target"),
        _queue("hostile"), _queue("token-expiry"), _queue("token-renewal"), _queue("token-sdk"),
        _queue("renew-many", LockDuration="PT5S"), _queue("renew-many-sync", LockDuration="PT5S"),
        _queue("renew-pipelined", LockDuration="PT30S"),
        _queue("session-pool", RequiresSession=True),
    ],
    "Topics": [
        {"Name": "orders", "Properties": {}, "Subscriptions": [
            _sub("all"),
            _sub("red", [_correlation("red", Properties={"color": "red"})]),
            _sub("labelled", [_correlation("by-label", Label="DeliveryRequested", ContentType="application/json")]),
            _sub("big", [_sql("big", "amount > 100 AND sys.Label = 'order'")]),
            _sub("either", [_correlation("blue", Properties={"color": "blue"}), _sql("green", "color = 'green'")]),
        ]},
        {"Name": "deliveries", "Properties": {"RequiresDuplicateDetection": True,
                                               "DuplicateDetectionHistoryTimeWindow": "PT10S"},
         "Subscriptions": [
             _sub("package", MaxDeliveryCount=1, DeadLetteringOnMessageExpiration=True),
             _sub("delivery", [_correlation("requested", Label="DeliveryRequested")],
                  ForwardTo="forward-session-target"),
         ]},
    ],
}], "Logging": {"Type": "Console"}}}
