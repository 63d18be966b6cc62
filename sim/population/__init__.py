"""The base population."""
