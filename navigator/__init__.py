"""Shared plumbing of the survivor resource navigator: configuration, database, CLI, launcher."""
