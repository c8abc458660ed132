"""Benchmarks (see the README): scripts run by `make bench`, and the bare Django baseline they
measure the product against. Nothing here is mounted by the production settings."""
