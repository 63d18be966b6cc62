"""The scenario format."""
