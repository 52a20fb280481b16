"""The advocate console: its own process, serving advocates and integrations (CONTRACT.md)."""
