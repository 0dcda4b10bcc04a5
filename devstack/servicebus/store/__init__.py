"""SQLite persistence for the Service Bus broker."""
