"""Tracing export, chosen by configuration only (docs/app.md "Tracing"): OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``…_TRACES_ENDPOINT``) is set, Azure Monitor when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set, and the
Azure SDKs' own spans through azure-core's OpenTelemetry plugin; otherwise nothing is installed and
core/telemetry.py's helpers return at their first line."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from contracts.names import APP_NAME
from core import telemetry

log = logging.getLogger(__name__)


def configure(env: Mapping[str, str] | None = None) -> str | None:
    """Install tracing as the settings ask (once per process); returns which exporters run, or None (tracing off)."""
    env = os.environ if env is None else env
    if telemetry.tracer() is not None or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    otlp = bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    monitor = bool(env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"))
    if not (otlp or monitor):
        return None  # the API's no-op tracer stays: nothing is recorded, nothing exported
    provider, mode = _installed_sdk_provider(), "the provider already installed"
    if provider is not None and otlp:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter(env)))
    if provider is None and monitor:
        provider, mode = _azure_monitor(env, otlp), "azure-monitor" + (" + otlp" if otlp else "")
    if provider is None and otlp:
        provider, mode = build_provider(env), "otlp"
        trace.set_tracer_provider(provider)
    if provider is None:
        return None
    _trace_azure_sdks()
    telemetry.install(provider)
    log.info("OpenTelemetry tracing on (%s)", mode)
    return mode


def build_provider(env: Mapping[str, str]) -> Any:
    """An SDK TracerProvider exporting OTLP in batches. The SDK and the exporters read the standard OTEL_* variables
    themselves (endpoint, headers, timeout, compression, sampler, resource): https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/"""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": APP_NAME}))
    provider.add_span_processor(BatchSpanProcessor(otlp_exporter(env)))
    return provider


def otlp_exporter(env: Mapping[str, str]) -> Any:
    """The OTLP span exporter for OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: ``grpc`` or ``http/protobuf`` (the default,
    https://opentelemetry.io/docs/specs/otel/protocol/exporter/#specify-protocol)."""
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip().lower()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        return GrpcExporter()
    if protocol != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported by the Python exporters; using http/protobuf",
                    protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
    return HttpExporter()


def _installed_sdk_provider() -> Any:
    # The Functions Python worker configures Azure Monitor itself when PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY
    # is set; a second configure_azure_monitor would export everything twice.
    provider = trace.get_tracer_provider()
    return provider if hasattr(provider, "add_span_processor") else None


def _azure_monitor(env: Mapping[str, str], otlp: bool) -> Any:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor  # lazily: it pulls in many instrumentations
    except ImportError:
        log.error("APPLICATIONINSIGHTS_CONNECTION_STRING is set but azure-monitor-opentelemetry is not installed "
                  "(pip install azure-monitor-opentelemetry); %s",
                  "exporting OTLP only" if otlp else "tracing stays off")
        return None
    extra = []
    if otlp:  # both at once: Azure Monitor's provider gets the OTLP exporter as one more span processor
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        extra.append(BatchSpanProcessor(otlp_exporter(env)))
    configure_azure_monitor(connection_string=env["APPLICATIONINSIGHTS_CONNECTION_STRING"], span_processors=extra)
    return trace.get_tracer_provider()


def _trace_azure_sdks() -> None:
    # azure-core's OpenTelemetry plugin: Service Bus, Cosmos DB and Event Grid calls become spans of the global
    # provider (https://learn.microsoft.com/python/api/overview/azure/core-tracing-opentelemetry-readme).
    try:
        from azure.core.settings import settings
        settings.tracing_implementation = "opentelemetry"
    except Exception:
        log.warning("azure-core-tracing-opentelemetry is not usable; Azure SDK calls are not traced", exc_info=True)
