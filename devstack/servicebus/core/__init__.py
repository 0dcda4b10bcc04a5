"""Broker semantics: entities, messages, locks, sessions, scheduling, dedupe, forwarding (no I/O)."""
