"""Fan-out: which of a topic's subscriptions receive each published event."""
from __future__ import annotations

from devstack.eventgrid.core.config import Subscription, Topic
from devstack.eventgrid.core.events import Event


def route(topic: Topic, events: list[Event]) -> list[tuple[Subscription, Event]]:
    """Every (subscription, event) pair whose filter matches; an event no one wants is dropped."""
    return [(sub, event) for event in events for sub in topic.subscriptions
            if sub.filter.matches(event.event_type, event.subject, event.body)]
