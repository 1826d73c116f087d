"""Slow, obvious reference implementations that kernels are tested against.

One module per area (``tracking``, ``emg``, ``realtime``, ``models``): plain
numpy / Python loops written for clarity, never for speed.
"""
