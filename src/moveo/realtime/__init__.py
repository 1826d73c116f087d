"""Realtime EMG prediction (placeholder while the package is assembled)."""
