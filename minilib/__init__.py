"""minilib: the helper library of the book.

Importing it is cheap and changes nothing (no seeding, no style, no downloads). The core
helpers that a chapter needs first are re-exported here; the data layer is
:mod:`minilib.data`.
"""

from .results import record
from .runtime import check_params, environment_report, pick_device, set_seed, setup

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "check_params",
    "environment_report",
    "pick_device",
    "record",
    "set_seed",
    "setup",
]
