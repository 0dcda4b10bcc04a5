"""Property-based fuzzing of publish validation and subscription filters: typed errors only, never a crash.

Whatever a publisher sends, ``parse_publish`` either raises one of the core's typed errors (mapped to a
4xx at the edge) or returns events the outbox can store and every subscriber can parse: strict JSON
(``allow_nan=False``) that encodes to UTF-8. Whatever a config declares, filters either refuse it with
``ConfigError`` or evaluate any event without raising.
"""
from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.eventgrid.core.config import CLOUD_EVENT_SCHEMA, EVENT_GRID_SCHEMA, parse_config
from devstack.eventgrid.core.errors import ConfigError, InvalidEvents, PayloadTooLarge
from devstack.eventgrid.core.events import parse_publish
from devstack.eventgrid.core.filters import OPERATORS, parse_advanced_filter

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-8",
                                 "application/cloudevents+json", "application/cloudevents-batch+json", "", "x/y"])
SCHEMAS = st.sampled_from([EVENT_GRID_SCHEMA, CLOUD_EVENT_SCHEMA])
# Text with lone surrogates included: json.dumps escapes them, so they reach the parser as "\udxxx".
TEXT = st.text(st.characters(codec=None), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | TEXT
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20)
FIELDS = ["id", "eventType", "subject", "eventTime", "data", "dataVersion", "metadataVersion", "topic",
          "source", "type", "specversion", "time", "data_base64"]
EVENTS = st.dictionaries(st.sampled_from(FIELDS) | TEXT, JSON_VALUES | st.just("2026-01-01T00:00:00Z")
                         | st.just("1.0"), max_size=8)
BODIES = (st.binary(max_size=200)
          | st.lists(EVENTS, max_size=4).map(lambda events: json.dumps(events).encode())
          | EVENTS.map(lambda event: json.dumps(event).encode())
          | JSON_VALUES.map(lambda value: json.dumps(value).encode()))


def accepted_or_typed_error(body: bytes, content_type: str, schema: str) -> None:
    try:
        events = parse_publish(body, content_type, schema, "t")
    except (InvalidEvents, PayloadTooLarge):
        return
    for event in events:
        json.dumps(event.body, allow_nan=False, ensure_ascii=False).encode("utf-8")  # what subscribers get
        assert isinstance(event.id, str) and isinstance(event.event_type, str) and isinstance(event.subject, str)


@FUZZ
@given(BODIES, CONTENT_TYPES, SCHEMAS)
def test_publish_validation_raises_only_typed_errors(body: bytes, content_type: str, schema: str) -> None:
    accepted_or_typed_error(body, content_type, schema)


@FUZZ
@given(st.lists(EVENTS.map(lambda e: {"id": "i", "eventType": "T", "subject": "s",
                                      "eventTime": "2026-01-01T00:00:00Z", **e}), min_size=1, max_size=3))
def test_nearly_valid_event_grid_events_raise_only_typed_errors(events: list[dict[str, Any]]) -> None:
    accepted_or_typed_error(json.dumps(events).encode(), "application/json", EVENT_GRID_SCHEMA)


KEYS = st.sampled_from(["data.weight", "subject", "data", "data.a.b", "", "eventType", "DATA.Weight"]) | TEXT
NUMBERS = st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
WELL_TYPED_VALUES = (st.lists(NUMBERS, min_size=1, max_size=3) | st.lists(TEXT, min_size=1, max_size=3)
                     | st.lists(st.tuples(NUMBERS, NUMBERS).map(list), min_size=1, max_size=3))
# Mostly filters of the right shape (so that filters get evaluated), some of any shape (so refusals too).
ADVANCED = (st.fixed_dictionaries({"operatorType": st.sampled_from(OPERATORS), "key": KEYS,
                                   "value": NUMBERS | st.booleans(), "values": WELL_TYPED_VALUES})
            | st.fixed_dictionaries({"operatorType": st.sampled_from(OPERATORS) | TEXT, "key": KEYS},
                                    optional={"value": JSON_VALUES, "values": JSON_VALUES}))
FILTERS = st.fixed_dictionaries({}, optional={
    "includedEventTypes": st.lists(TEXT, max_size=3) | JSON_VALUES, "subjectBeginsWith": TEXT | JSON_VALUES,
    "subjectEndsWith": TEXT, "isSubjectCaseSensitive": st.booleans(),
    "advancedFilters": st.lists(ADVANCED, max_size=3), "enableAdvancedFilteringOnArrays": st.booleans()})
EVENT_BODIES = st.fixed_dictionaries({}, optional={
    "data": st.fixed_dictionaries({}, optional={"weight": NUMBERS | TEXT | JSON_VALUES,
                                                "a": st.fixed_dictionaries({}, optional={"b": JSON_VALUES})})
    | JSON_VALUES, "subject": JSON_VALUES, "eventType": TEXT, "Data": JSON_VALUES})


@FUZZ
@given(FILTERS, st.lists(EVENT_BODIES, max_size=4), TEXT, TEXT)
def test_filters_refuse_with_config_error_or_evaluate_any_event(raw_filter: dict[str, Any],
                                                                bodies: list[dict[str, Any]],
                                                                event_type: str, subject: str) -> None:
    config = {"topics": [{"name": "topic-one", "subscriptions": [
        {"name": "sub-one", "endpointUrl": "http://127.0.0.1:9/hook", "filter": raw_filter}]}]}
    try:
        [topic] = parse_config(config, {}).topics
    except ConfigError:
        return
    [subscription] = topic.subscriptions
    for body in bodies:
        assert subscription.filter.matches(event_type, subject, body) in (True, False)


@FUZZ
@given(ADVANCED, st.lists(EVENT_BODIES, min_size=1, max_size=4), st.booleans())
def test_advanced_filters_refuse_with_value_error_or_evaluate_any_event(raw: dict[str, Any],
                                                                       bodies: list[dict[str, Any]],
                                                                       arrays: bool) -> None:
    try:
        advanced = parse_advanced_filter(raw)
    except ValueError:
        return
    for body in bodies:
        assert advanced.matches(body, arrays) in (True, False)
