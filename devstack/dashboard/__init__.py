"""Local trace dashboard: an OTLP/HTTP trace receiver storing spans in SQLite, and pages showing deliveries."""
