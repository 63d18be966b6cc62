"""Results and their storage."""
