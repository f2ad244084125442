"""minilib: the helper library of the book.

Importing it is cheap and changes nothing (no seeding, no style, no downloads). A
chapter starts with :func:`setup`, which returns its :class:`~minilib.chapter.Chapter`;
the fields live in subpackages (:mod:`minilib.recsys`, :mod:`minilib.chem`,
:mod:`minilib.vision`, :mod:`minilib.quantum`), the data layer in :mod:`minilib.data`.
"""

from .chapter import Chapter, FullRun, setup, show_code
from .runtime import (
    check_params,
    environment_report,
    parallel_map,
    pick_device,
    progress,
    set_seed,
)

__version__ = "0.1.0"

__all__ = [
    "Chapter",
    "FullRun",
    "__version__",
    "check_params",
    "environment_report",
    "parallel_map",
    "pick_device",
    "progress",
    "set_seed",
    "setup",
    "show_code",
]
