"""The SDK-backed MessageBus's thread-safety: one sender per entity, never used by two threads at once."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from adapters.servicebus import ServiceBusMessageBus
from contracts.messages import ReadinessDeadline
from contracts.names import DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE
from core.outbound import to_inbox, to_topic
from core.settings import Settings
from tests.unit.app.support import requested


class OverlapDetectingSender:
    """Stands in for an azure-servicebus sender (not thread-safe): records any concurrent use."""

    def __init__(self, entity: str, log: FakeClient) -> None:
        self.entity, self._log = entity, log
        self._inside = 0
        self._guard = threading.Lock()

    def send_messages(self, batch: list[Any]) -> None:
        with self._guard:
            self._inside += 1
            if self._inside > 1:
                self._log.overlaps.append(self.entity)
        time.sleep(0.002)  # widen the window a concurrent caller would have to slip into
        with self._guard:
            self._inside -= 1
        self._log.delivered.extend((self.entity, m.message_id) for m in batch)

    def close(self) -> None:
        pass


class FakeClient:
    """Stands in for ServiceBusClient: hands out one recording sender per call."""

    def __init__(self) -> None:
        self.overlaps: list[str] = []
        self.delivered: list[tuple[str, str]] = []
        self.senders: list[OverlapDetectingSender] = []

    def get_topic_sender(self, entity: str) -> OverlapDetectingSender:
        return self._new(entity)

    def get_queue_sender(self, entity: str) -> OverlapDetectingSender:
        return self._new(entity)

    def _new(self, entity: str) -> OverlapDetectingSender:
        sender = OverlapDetectingSender(entity, self)
        self.senders.append(sender)
        return sender

    def close(self) -> None:
        pass


def test_concurrent_first_sends_share_one_sender_per_entity_and_never_overlap() -> None:
    client = FakeClient()
    bus = ServiceBusMessageBus(Settings(), connect=lambda _: client)  # type: ignore[arg-type,return-value]
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    now = datetime.now(UTC)

    def run(i: int) -> None:
        barrier.wait()
        for round_ in range(5):
            delivery_id = f"d{i}-{round_}"
            bus.send([to_inbox(ReadinessDeadline(delivery_id=delivery_id, occurred_at=now), None),
                      to_topic(requested(delivery_id), None)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert client.overlaps == [], "a sender was used by two threads at once"
    assert sorted(s.entity for s in client.senders) == [DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE]
    assert len(client.delivered) == threads_count * 5 * 2
