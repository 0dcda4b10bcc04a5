"""Delivery: owns the delivery state machine (session trigger on `delivery-inbox`) and `GET /api/deliveries/{id}`."""
