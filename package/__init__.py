"""Package: validates and stores the package, reports readiness, closes or cancels it when the delivery ends."""
