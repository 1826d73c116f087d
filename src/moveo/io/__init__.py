"""Layer 1: readers for tracking formats, movement interop and synthetic data generators.

All readers return a polars DataFrame in moveo's canonical long format (one row
per individual and frame; columns named as in :class:`moveo.schema.Columns`)
ready for :meth:`moveo.Dataset.add_tracks`. With ``return_info=True`` they also
return a :class:`SourceInfo` (frame rate, keypoint names, calibration) read from
the file. :func:`read_calms21` returns tracks and frame labels. :func:`open_mosaic`
reads a dataset mosaic-behavior wrote (bringing it over is
:func:`moveo.pipeline.import_mosaic`, which needs the registry, one layer up).

Optional dependencies: ``read_sleap`` needs sleap-io (``moveo[sleap]``), DeepLabCut
``.h5`` files need pandas and PyTables (``moveo[dlc]``), ``to_movement`` /
``from_movement`` need xarray (``moveo[movement]``); they are imported only when
used.
"""

from moveo.io import synthetic
from moveo.io._common import SourceInfo
from moveo.io.calms21 import read_calms21
from moveo.io.dlc import dlc_pose_config, read_dlc, read_dlc_csv
from moveo.io.idtracker import read_idtracker
from moveo.io.lightning_pose import read_lightning_pose
from moveo.io.mosaic import MosaicDataset, open_mosaic
from moveo.io.movement import from_movement, to_movement
from moveo.io.sleap import read_sleap
from moveo.io.table import read_table
from moveo.io.trex import read_trex, trex_metadata

__all__ = [
    "MosaicDataset",
    "SourceInfo",
    "dlc_pose_config",
    "from_movement",
    "open_mosaic",
    "read_calms21",
    "read_dlc",
    "read_dlc_csv",
    "read_idtracker",
    "read_lightning_pose",
    "read_sleap",
    "read_table",
    "read_trex",
    "synthetic",
    "to_movement",
    "trex_metadata",
]
