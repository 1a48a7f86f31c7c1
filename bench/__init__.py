"""Benchmarks that run mmreason and the peer it replaces side by side (see bench/README.md)."""
