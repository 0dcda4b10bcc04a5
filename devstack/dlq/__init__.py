"""`python -m devstack dlq`: list, inspect and redrive dead letters (operator tooling)."""
