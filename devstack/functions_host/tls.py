"""One TLS context for every Service Bus connection the host opens.

azure-servicebus (pure-Python AMQP transport) builds a fresh ``ssl.SSLContext`` and loads the system's
root certificates for every connection it opens unless the client is given ``ssl_context``
(``_pyamqp/aio/_transport_async.py`` ``_build_ssl_opts``), and the SDK opens one connection per
receiver: each session accept. Profiled under load (py-spy), that certificate loading was ~10 % of the
host's CPU, even against the emulator, where the context is never used. The context below is the one the
SDK would build (TLS client, system roots, hostname checked), built once.
"""
from __future__ import annotations

import functools
import ssl


@functools.cache
def client_ssl_context() -> ssl.SSLContext:
    """A TLS client context with the system's root certificates (what the SDK builds by default)."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
