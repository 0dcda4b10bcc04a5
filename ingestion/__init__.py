"""Ingestion: `POST /api/deliveries` publishes DeliveryRequested; `DELETE /api/deliveries/{id}` asks to cancel."""
