"""Layer 1: readers for tracking formats and synthetic data generators.

All readers return a polars DataFrame in moveo's canonical long format (one row
per individual and frame; columns named as in :class:`moveo.schema.Columns`)
ready for :meth:`moveo.Dataset.add_tracks`. :func:`open_mosaic` reads a dataset
mosaic-behavior wrote (bringing it over is :func:`moveo.pipeline.import_mosaic`,
which needs the registry, one layer up).
"""

from moveo.io import synthetic
from moveo.io.dlc import dlc_pose_config, read_dlc_csv
from moveo.io.mosaic import MosaicDataset, open_mosaic
from moveo.io.table import read_table
from moveo.io.trex import read_trex, trex_metadata

__all__ = [
    "MosaicDataset",
    "dlc_pose_config",
    "open_mosaic",
    "read_dlc_csv",
    "read_table",
    "read_trex",
    "synthetic",
    "trex_metadata",
]
