"""AMQP 1.0 wire layer of the Service Bus broker (the only package that imports proton)."""
