"""The check-functions tool (tools/)."""
