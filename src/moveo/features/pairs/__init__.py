"""Pair and social features (mosaic's pair library), over one pair table layout.

See ``docs/pair-features.md`` and :mod:`moveo.kernels.pairs`.
"""
