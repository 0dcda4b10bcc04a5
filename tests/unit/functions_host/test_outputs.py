"""Encoding output values the way the worker does, before the host sends them with the SDKs."""
from __future__ import annotations

import datetime

import azure.functions as func
import pytest

from devstack.functions_host.errors import StartupError
from devstack.functions_host.metadata import Binding
from devstack.functions_host.outputs import OutputSender, documents_from, encode, event_grid_events
from devstack.functions_host.settings import AppSettings

SERVICE_BUS = Binding("out", "serviceBus", "OUT", {"connection": "SB", "queueName": "q"})
EVENT_GRID = Binding("eg", "eventGrid", "OUT", {"topicEndpointUri": "EgUri", "topicKeySetting": "EgKey"})


def test_service_bus_output_carries_str_or_bytes_only() -> None:
    assert encode(SERVICE_BUS, "body").value == "body"
    assert encode(SERVICE_BUS, b"\x00").value == b"\x00"
    with pytest.raises(TypeError, match="cannot carry a value of type dict"):
        encode(SERVICE_BUS, {"a": 1})


def test_event_grid_output_events_from_objects_strings_and_lists() -> None:
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    event = func.EventGridOutputEvent(id="e1", data={"x": 1}, subject="s", event_type="T", event_time=when,
                                      data_version="1.0")
    [sdk_event] = event_grid_events(encode(EVENT_GRID, event))
    assert (sdk_event.id, sdk_event.subject, sdk_event.event_type, sdk_event.data, sdk_event.event_time) == \
        ("e1", "s", "T", {"x": 1}, when)
    listed = event_grid_events(encode(EVENT_GRID, [event, event]))
    assert [e.id for e in listed] == ["e1", "e1"]
    cloud = event_grid_events(encode(EVENT_GRID, '{"specversion": "1.0", "id": "c", "source": "/s", "type": "T"}'))
    assert (type(cloud[0]).__name__, cloud[0].source) == ("CloudEvent", "/s")


def test_cosmos_documents_from_every_accepted_shape() -> None:
    assert documents_from(func.Document.from_dict({"id": "1"})) == [{"id": "1"}]
    assert documents_from({"id": "2"}) == [{"id": "2"}]
    assert documents_from([{"id": "3"}, func.Document.from_dict({"id": "4"})]) == [{"id": "3"}, {"id": "4"}]
    assert documents_from('[{"id": "5"}]') == [{"id": "5"}]
    with pytest.raises(TypeError, match="a Cosmos DB output takes"):
        documents_from([1, 2])


def test_validation_names_the_missing_setting_and_refuses_identity_connections() -> None:
    from devstack.functions_host.metadata import FunctionSpec

    spec = FunctionSpec("f", Binding("req", "httpTrigger", "IN", {}), (SERVICE_BUS,), lambda req: None, ("req",))
    with pytest.raises(StartupError, match=r"function 'f', binding 'out' \(serviceBus\) needs app setting 'SB'"):
        OutputSender(AppSettings({})).validate(spec)
    with pytest.raises(StartupError, match="SB__fullyQualifiedNamespace selects a managed identity"):
        OutputSender(AppSettings({"SB__fullyQualifiedNamespace": "ns.servicebus.windows.net"})).validate(spec)
