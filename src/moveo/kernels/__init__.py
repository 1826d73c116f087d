"""Layer 0: numba kernels over contiguous numpy arrays.

Kernels take and return numpy arrays only: no polars or arrow objects, no I/O.
Every module here registers a warm-up function with
:func:`moveo._numba.register_warmup`, so :func:`moveo.warmup` compiles them all.
"""
