"""The app's core: ports, settlement outcomes, outbound addressing, the outbox, retries, settings and tracing.

No Azure SDK and no azure.functions is imported here; adapters/ implements the ports on the SDKs."""
