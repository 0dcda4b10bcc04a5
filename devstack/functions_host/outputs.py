"""Output bindings (Service Bus, Event Grid, Cosmos DB) sent with the Azure SDKs after a function returns.

Values are encoded with the azure-functions library's own converters, exactly as the worker encodes
them before handing them to the host, so a value the real worker refuses is refused here too.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

import azure.functions as func
from azure.functions import meta

from devstack.functions_host.errors import StartupError
from devstack.functions_host.metadata import Binding, FunctionSpec
from devstack.functions_host.settings import AppSettings

log = logging.getLogger(__name__)

DEFAULT_SERVICE_BUS_CONNECTION = "AzureWebJobsServiceBus"
DEFAULT_COSMOS_CONNECTION = "CosmosDBConnection"


def service_bus_connection(settings: AppSettings, binding: Binding, needed_by: str) -> str:
    """The connection string named by a Service Bus binding's ``connection``."""
    name = binding.get("connection") or DEFAULT_SERVICE_BUS_CONNECTION
    return _connection_string(settings, name, "fullyQualifiedNamespace", needed_by)


def _connection_string(settings: AppSettings, name: str, identity_suffix: str, needed_by: str) -> str:
    value = settings.get(name)
    if not value and settings.get(f"{name}__{identity_suffix}"):
        # Identity-based connections need Entra ID tokens, which local emulators cannot validate.
        raise StartupError(f"{needed_by}: setting {name}__{identity_suffix} selects a managed identity "
                           f"connection, which this host does not support; set {name} to a connection string")
    return settings.require(name, needed_by=needed_by)


def encode(binding: Binding, value: Any) -> meta.Datum:
    """The worker's encoding of an output value (TypeError when the binding cannot carry it)."""
    converter = meta.get_binding_registry().get(binding.type)
    try:
        if converter is None:
            raise NotImplementedError
        return converter.encode(value, expected_type=None)
    except NotImplementedError:
        raise TypeError(f"output binding {binding.name!r} ({binding.type}) cannot carry a value of "
                        f"type {type(value).__name__}") from None


class OutputSender:
    """Sends a function's non-HTTP output values; one SDK client per connection, reused."""

    def __init__(self, settings: AppSettings, service_bus_retry: dict[str, Any] | None = None) -> None:
        self._settings = settings
        self._service_bus_retry = dict(service_bus_retry or {})
        self._servicebus: dict[str, Any] = {}
        self._senders: dict[tuple[str, str], Any] = {}
        self._eventgrid: dict[str, Any] = {}
        self._cosmos: dict[str, Any] = {}
        self._containers: dict[tuple[str, str, str], Any] = {}
        self._locks: dict[Any, asyncio.Lock] = {}

    def validate(self, spec: FunctionSpec) -> None:
        """Check at startup that every output's settings exist (a StartupError names what is missing)."""
        for binding in spec.outputs:
            needed_by = spec.describe(binding)
            if binding.type == "serviceBus":
                service_bus_connection(self._settings, binding, needed_by)
            elif binding.type == "eventGrid":
                self._eventgrid_target(binding, needed_by)
            elif binding.type == "cosmosDB":
                _parse_cosmos(self._cosmos_connection(binding, needed_by), needed_by)

    async def send(self, spec: FunctionSpec, outputs: dict[str, Any]) -> None:
        """Send every non-HTTP output that has a value, in declaration order."""
        for binding in spec.outputs:
            value = outputs.get(binding.name)
            if value is None or binding.type == "http":
                continue
            if binding.type == "serviceBus":
                await self._send_service_bus(spec, binding, value)
            elif binding.type == "eventGrid":
                await self._send_event_grid(spec, binding, value)
            elif binding.type == "cosmosDB":
                await self._send_cosmos(spec, binding, value)

    async def _send_service_bus(self, spec: FunctionSpec, binding: Binding, value: Any) -> None:
        from azure.servicebus import ServiceBusMessage

        datum = encode(binding, value)  # str or bytes only: the Python binding carries the body alone
        connection = service_bus_connection(self._settings, binding, spec.describe(binding))
        entity = self._settings.expand(binding.get("queueName") or binding.get("topicName"),
                                       needed_by=spec.describe(binding))
        key = (connection, entity)
        # One sender per entity, used by one invocation at a time: the SDK's sender is not safe to
        # open (or to reopen after a failure) from concurrent tasks.
        async with self._lock(key):
            sender = await self._sender(key)
            try:
                await sender.send_messages(ServiceBusMessage(datum.value))
            except Exception:
                await self._discard_sender(key)
                raise
        log.debug("%s: sent a message to %s", spec.describe(binding), entity)

    async def _sender(self, key: tuple[str, str]) -> Any:
        from azure.servicebus.aio import ServiceBusClient

        from devstack.functions_host.tls import client_ssl_context

        connection, entity = key
        if connection not in self._servicebus:
            self._servicebus[connection] = ServiceBusClient.from_connection_string(
                connection, ssl_context=client_ssl_context(), **self._service_bus_retry)
        if key not in self._senders:
            sender = self._servicebus[connection].get_queue_sender(entity)
            await sender.__aenter__()
            self._senders[key] = sender
        return self._senders[key]

    async def _discard_sender(self, key: tuple[str, str]) -> None:
        """Drop a sender whose send failed: a broken link is not reused; the next send reattaches."""
        sender = self._senders.pop(key, None)
        try:
            if sender is not None:
                await sender.close()
        except Exception as exc:  # closing a broken link may fail too; the send error is what matters
            log.debug("closing a failed sender: %s", exc)

    def _lock(self, key: Any) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _eventgrid_target(self, binding: Binding, needed_by: str) -> tuple[str, str]:
        endpoint_setting = str(binding.get("topicEndpointUri") or "").strip("%")
        key_setting = str(binding.get("topicKeySetting") or "").strip("%")
        return (self._settings.require(endpoint_setting, needed_by=needed_by),
                self._settings.require(key_setting, needed_by=needed_by))

    async def _send_event_grid(self, spec: FunctionSpec, binding: Binding, value: Any) -> None:
        from azure.core.credentials import AzureKeyCredential
        from azure.eventgrid.aio import EventGridPublisherClient

        events = event_grid_events(encode(binding, value))
        endpoint, key = self._eventgrid_target(binding, spec.describe(binding))
        if endpoint not in self._eventgrid:
            self._eventgrid[endpoint] = EventGridPublisherClient(endpoint, AzureKeyCredential(key))
        await self._eventgrid[endpoint].send(events)
        log.debug("%s: published %d event(s)", spec.describe(binding), len(events))

    def _cosmos_connection(self, binding: Binding, needed_by: str) -> str:
        name = binding.get("connection") or DEFAULT_COSMOS_CONNECTION
        return _connection_string(self._settings, name, "accountEndpoint", needed_by)

    async def _send_cosmos(self, spec: FunctionSpec, binding: Binding, value: Any) -> None:
        async with self._lock(("cosmos", binding.get("databaseName"), binding.get("containerName"))):
            container = await self._container(spec, binding)  # created once, not by racing invocations
        for document in documents_from(value):
            await container.upsert_item(document)
        log.debug("%s: upserted into %s", spec.describe(binding), binding.get("containerName"))

    async def _container(self, spec: FunctionSpec, binding: Binding) -> Any:
        from azure.cosmos import PartitionKey
        from azure.cosmos.aio import CosmosClient

        needed_by = spec.describe(binding)
        connection = self._cosmos_connection(binding, needed_by)
        database = self._settings.expand(binding.get("databaseName"), needed_by=needed_by)
        name = self._settings.expand(binding.get("containerName"), needed_by=needed_by)
        key = (connection, database, name)
        if key in self._containers:
            return self._containers[key]
        if connection not in self._cosmos:
            self._cosmos[connection] = CosmosClient(*_parse_cosmos(connection, needed_by))
        client = self._cosmos[connection]
        if binding.get("createIfNotExists"):
            db = await client.create_database_if_not_exists(database)
            path = binding.get("partitionKey") or "/id"
            container = await db.create_container_if_not_exists(name, PartitionKey(path=path))
        else:
            container = client.get_database_client(database).get_container_client(name)
        self._containers[key] = container
        return container

    async def close(self) -> None:
        """Close every SDK client opened for outputs."""
        for closable in [*self._senders.values(), *self._servicebus.values(), *self._eventgrid.values(),
                         *self._cosmos.values()]:
            try:
                await closable.close()
            except Exception:  # closing on shutdown must not stop the other closes
                log.exception("closing an output client failed")


def _parse_cosmos(connection: str, needed_by: str) -> tuple[str, str]:
    parts = dict(p.split("=", 1) for p in connection.split(";") if "=" in p)
    endpoint, key = parts.get("AccountEndpoint"), parts.get("AccountKey")
    if not endpoint or not key:
        raise StartupError(f"{needed_by}: the Cosmos DB connection string needs AccountEndpoint and AccountKey")
    return endpoint, key


def event_grid_events(datum: meta.Datum) -> list[Any]:
    """SDK events from the worker's datum: a JSON event, a JSON array, or an EventGridOutputEvent."""
    from azure.core.messaging import CloudEvent
    from azure.eventgrid import EventGridEvent

    raw = datum.value.decode() if isinstance(datum.value, bytes) else datum.value
    parsed = json.loads(raw)
    items = parsed if isinstance(parsed, list) else [parsed]
    events: list[Any] = []
    for item in items:
        item = json.loads(item) if isinstance(item, str) else item
        if "specversion" in item:
            events.append(CloudEvent.from_dict(item))
        else:
            # Absent id/eventTime are left to the SDK, which fills a new UUID and the current time.
            optional = {"id": item.get("id"), "event_time": _parse_time(item.get("eventTime"))}
            events.append(EventGridEvent(item["subject"], item["eventType"], item.get("data"),
                                         item.get("dataVersion") or "1.0",
                                         **{k: v for k, v in optional.items() if v is not None}))
    return events


def _parse_time(value: str | None) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def documents_from(value: Any) -> list[dict[str, Any]]:
    """Documents from Out[func.Document], a DocumentList, a dict, a list of either, or a JSON string."""
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    if isinstance(value, (func.Document, dict)):
        return [dict(value)]
    if isinstance(value, Iterable):
        documents = [dict(item) for item in value if isinstance(item, (func.Document, dict))]
        if len(documents) == len(list(value)):
            return documents
    raise TypeError(f"a Cosmos DB output takes a document, a dict, a list of them or JSON; "
                    f"got {type(value).__name__}")
