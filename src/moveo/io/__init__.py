"""Layer 1: readers for tracking formats and synthetic data generators.

All readers return a polars DataFrame in moveo's canonical long format (one row
per individual and frame; columns named as in :class:`moveo.schema.Columns`)
ready for :meth:`moveo.Dataset.add_tracks`.
"""

from moveo.io import synthetic
from moveo.io.dlc import dlc_pose_config, read_dlc_csv
from moveo.io.table import read_table
from moveo.io.trex import read_trex, trex_metadata

__all__ = [
    "dlc_pose_config",
    "read_dlc_csv",
    "read_table",
    "read_trex",
    "synthetic",
    "trex_metadata",
]
