"""Event Grid semantics: publishing, subscriptions, delivery scheduling, dead letters (no sockets, no SQLite).

The HTTP routes call it for what a publisher or an operator asks; the dispatcher (``http/delivery.py``, the
webhook client) calls it for what to deliver next and to record each handshake and attempt. Storage is the
``DeliveryStore`` port (``core/ports.py``, SQLite in ``store/outbox.py``); time comes from the clock it is given.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from devstack.eventgrid.core.config import EventGridConfig, Subscription, Topic
from devstack.eventgrid.core.errors import TopicNotFound
from devstack.eventgrid.core.events import parse_publish
from devstack.eventgrid.core.ports import Clock, DeliveryStore
from devstack.eventgrid.core.records import Delivery, NewDelivery, dead_letter_view
from devstack.eventgrid.core.retry import TTL_REASON, Outcome, RetryPlanner
from devstack.eventgrid.core.routing import route

log = logging.getLogger(__name__)

MISSING_SUBSCRIPTION_REASON = "SubscriptionNotFound"


@dataclass(frozen=True)
class Published:
    """What one publish request did: events accepted, deliveries queued (an event per matching subscription)."""

    events: int
    deliveries: int


@dataclass(frozen=True)
class DueDelivery:
    """A stored row that is due now, with the declared topic and subscription it is bound for."""

    topic: Topic
    subscription: Subscription
    row: Delivery


@dataclass(frozen=True)
class DispatchPass:
    """What is due now (at most the free slots), else how long to wait before looking again."""

    due: list[DueDelivery]
    idle_seconds: float


class EventGridService:
    """The declared topics over a delivery store, a retry planner and a clock."""

    def __init__(self, config: EventGridConfig, store: DeliveryStore, planner: RetryPlanner, clock: Clock) -> None:
        self._config, self._store, self._planner, self._clock = config, store, planner, clock
        self._active: set[tuple[str, str]] = set()  # validated (topic, subscription) pairs: those delivered to
        self._listeners: list[Callable[[], None]] = []

    @property
    def config(self) -> EventGridConfig:
        """The declared topics and subscriptions."""
        return self._config

    def on_enqueued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever new deliveries are queued (the dispatcher's wake-up call)."""
        self._listeners.append(listener)

    # ---- publishers and operators -------------------------------------------------------------------------

    def topic(self, name: str) -> Topic:
        """The declared topic called ``name``; ``TopicNotFound`` otherwise."""
        topic = self._config.topic(name)
        if topic is None:
            raise TopicNotFound(f"no topic named {name!r} is declared in the devstack Event Grid config")
        return topic

    def publish(self, topic: Topic, body: bytes, content_type: str) -> Published:
        """Validate a publish request's body, fan it out by filter and durably queue every delivery."""
        events = parse_publish(body, content_type, topic.input_schema, topic.name)
        pairs = route(topic, events)
        self._store.enqueue((NewDelivery(topic.name, sub.name, ev.id, ev.body, ev.data_version)
                             for sub, ev in pairs), self._clock())
        log.info("topic %s: accepted %d event(s), %d delivery(ies) queued", topic.name, len(events), len(pairs))
        for listener in self._listeners:
            listener()
        return Published(len(events), len(pairs))

    def dead_letters(self, topic: Topic, subscription: str) -> list[dict[str, object]]:
        """A declared subscription's dead letters, in Event Grid's dead-letter shape."""
        if topic.subscription(subscription) is None:
            raise TopicNotFound(f"topic {topic.name!r} has no subscription {subscription!r}")
        return [dead_letter_view(row) for row in self._store.dead_letters(topic.name, subscription)]

    def pending_count(self) -> int:
        """How many deliveries still wait (the admin status)."""
        return self._store.pending_count()

    # ---- the dispatcher -----------------------------------------------------------------------------------

    def start(self) -> list[tuple[Topic, Subscription]]:
        """At start-up: dead-letter what undeclared subscriptions left queued, resume the validated ones.

        Returns the subscriptions whose endpoint still has to pass the validation handshake.
        """
        self._drop_undeclared()
        waiting: list[tuple[Topic, Subscription]] = []
        for topic in self._config.topics:
            for sub in topic.subscriptions:
                if self._store.is_validated(topic.name, sub.name, sub.endpoint_url):
                    self._active.add((topic.name, sub.name))
                else:
                    waiting.append((topic, sub))
        return waiting

    def _drop_undeclared(self) -> None:
        """Dead-letter rows queued for subscriptions the config no longer declares."""
        for topic_name, sub_name in self._store.pending_subscriptions():
            topic = self._config.topic(topic_name)
            if topic is None or topic.subscription(sub_name) is None:
                count = self._store.expire_pending(topic_name, sub_name, float("inf"),
                                                   MISSING_SUBSCRIPTION_REASON, self._clock())
                log.warning("dead-lettered %d event(s) queued for %s/%s, which is no longer declared",
                            count, topic_name, sub_name)

    def next_pass(self, free: int, in_flight: set[int]) -> DispatchPass:
        """Up to ``free`` due deliveries of validated subscriptions (minus ``in_flight`` rows), oldest first.

        With none due, ``idle_seconds`` is how long to wait: until the next row is due, at most 1 s; 0.5 s when
        everything due is already in flight (or no slot is free).
        """
        now = self._clock()
        rows = self._store.due(now, free, in_flight, self._active) if free > 0 else []
        due: list[DueDelivery] = []
        for row in rows:
            topic = self._config.topic(row.topic)
            sub = topic.subscription(row.subscription) if topic else None
            if topic is not None and sub is not None:  # only active (declared) pairs are ever due
                due.append(DueDelivery(topic, sub, row))
        if rows:
            return DispatchPass(due, 0.0)
        next_at = self._store.next_due_at(self._active)
        delay = 1.0 if next_at is None else min(1.0, max(0.0, next_at - now))
        return DispatchPass([], delay if delay > 0 else 0.5)

    def settle(self, due: DueDelivery, outcome: Outcome) -> None:
        """Record an attempt's outcome: delivered, retry later, or dead-letter."""
        topic, sub, row = due.topic, due.subscription, due.row
        now, attempts = self._clock(), row.attempts + 1
        decision = self._planner.decide(outcome, attempts, row.enqueued_at, now, sub.retry_policy)
        if decision.delivered:
            self._store.delivered(row.id)
            log.info("delivered event %s to %s/%s (attempt %d)", row.event_id, topic.name, sub.name, attempts)
        elif decision.retry_at is not None:
            self._store.failed_attempt(row.id, attempts, outcome.describe(), outcome.status, now,
                                       decision.retry_at)
            log.info("event %s to %s/%s failed (%s), retry in %.2fs", row.event_id, topic.name, sub.name,
                     outcome.describe(), decision.retry_at - now)
        else:
            self._store.dead_letter(row.id, attempts, decision.reason or "", outcome.describe(),
                                    outcome.status, now)
            log.warning("dead-lettered event %s for %s/%s: %s after %d attempt(s), last outcome %s",
                        row.event_id, topic.name, sub.name, decision.reason, attempts, outcome.describe())

    def validated(self, topic: Topic, sub: Subscription) -> None:
        """The endpoint passed the handshake: remember it and start delivering to the subscription."""
        self._store.mark_validated(topic.name, sub.name, sub.endpoint_url, self._clock())
        self._active.add((topic.name, sub.name))
        log.info("subscription %s/%s validated by %s", topic.name, sub.name, sub.endpoint_url)

    def expire_waiting(self, topic: Topic, sub: Subscription) -> None:
        """Dead-letter events that outlived their TTL while the endpoint was not validated."""
        cutoff = self._clock() - self._planner.ttl_seconds(sub.retry_policy)
        expired = self._store.expire_pending(topic.name, sub.name, cutoff, TTL_REASON, self._clock())
        if expired:
            log.warning("dead-lettered %d event(s) for %s/%s: %s", expired, topic.name, sub.name, TTL_REASON)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed handshakes or passes in a row: never a busy loop."""
        # 0.25 s doubling to 5 s, scaled like every other delay. The exponent is capped: 0.25 * 2 ** 1024
        # would overflow a float after ~1,000 failures (about 85 min at 5 s).
        return max(0.05, min(0.25 * 2 ** min(max(failures, 1) - 1, 16), 5.0) * self._planner.time_scale)
