"""The protocol between the services: messages, documents, reason codes and entity names (pydantic v2)."""
