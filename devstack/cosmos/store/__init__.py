"""SQLite storage for the Cosmos emulator (implements devstack.cosmos.core.ports.Store)."""
