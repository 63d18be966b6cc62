"""Calibration of a scenario's least known inputs to what was observed before its forecast."""
