"""Erhai: a stochastic simulator of China's two-child policy."""
__version__ = "0.1.0"
