"""`python -m devstack up`: the whole local stack — emulators plus the Functions host running the app."""
