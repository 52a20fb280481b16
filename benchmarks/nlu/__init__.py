"""How well the NLU understands messages it never saw: held-out sets and `make eval`."""
