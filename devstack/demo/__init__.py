"""`python -m devstack demo`: drive the running app through its HTTP API and show what happens."""
