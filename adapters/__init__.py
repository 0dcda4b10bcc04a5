"""Ports (typing.Protocol), their SDK-backed implementations, in-memory fakes, settings and the composition root."""
