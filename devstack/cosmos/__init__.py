"""Cosmos DB NoSQL emulator: REST wire protocol (http/), semantics (core/), SQLite storage (store/), SQL (query/)."""
