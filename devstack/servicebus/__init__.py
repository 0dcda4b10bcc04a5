"""Service Bus stand-in: an AMQP 1.0 broker (python-qpid-proton) durable in SQLite.

Layers: ``core`` (broker semantics, takes a clock), ``store`` (SQLite), ``amqp`` (proton wire layer),
``cli`` (``python -m devstack servicebus``).
"""
