"""The broker's devstack-only operator endpoint (``--admin-port``): entity depths as JSON over HTTP."""
