"""The PDF reports."""
