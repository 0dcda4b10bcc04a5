"""Cosmos DB resource semantics: databases, containers, items, TTL, patch, batch, change feed (no I/O)."""
