"""The data layer: a registry of every dataset of the book and safe loaders for each.

The data root is ``$MINILIB_DATA`` (or ``data_dir=`` on any call). Every loader checks
the sha256 of the files it reads against the registry and fails with a clear error
instead of returning a half result.

Command line: ``python -m minilib.data verify`` checks every file; ``python -m
minilib.data fetch NAME`` downloads a dataset for readers who have the internet.
"""

from .chem import (
    SAE_SETS,
    DTAData,
    bindingdb_sizes,
    load_bindingdb_sequences,
    load_bindingdb_target,
    load_dta,
    load_sae,
)
from .coco import (
    COCO_CLASSES,
    VOC_CLASSES,
    align_embeddings,
    load_coco,
    load_image,
    load_label_cooccurrence,
    load_label_embeddings,
    multi_hot,
)
from .davis2017 import (
    VOSSequence,
    binary_to_ids,
    list_sequences,
    load_palette_annotation,
    load_sequence,
)
from .errors import (
    ChecksumMismatchError,
    DataError,
    DatasetNotFoundError,
    DownloadError,
    MalformedDataError,
    UnsafeArchiveError,
    UnsafePickleError,
)
from .faces import YALE_CONDITIONS, load_extended_yaleb, load_face, load_yalefaces
from .fetch import FetchReport, fetch
from .histology import EBHI_CLASSES, ebhi_groups, load_ebhi_pair, load_ebhi_seg
from .kuairand import (
    FEEDBACK,
    LOG_COLUMNS,
    load_kuairand_log,
    load_kuairand_users,
    load_kuairand_videos,
)
from .registry import DATASETS, Dataset, data_root, get, locate
from .verify import verify, verify_files

__all__ = [
    "COCO_CLASSES",
    "DATASETS",
    "DTAData",
    "EBHI_CLASSES",
    "FEEDBACK",
    "LOG_COLUMNS",
    "SAE_SETS",
    "VOC_CLASSES",
    "VOSSequence",
    "YALE_CONDITIONS",
    "align_embeddings",
    "bindingdb_sizes",
    "binary_to_ids",
    "ebhi_groups",
    "fetch",
    "list_sequences",
    "load_bindingdb_sequences",
    "load_bindingdb_target",
    "load_coco",
    "load_dta",
    "load_ebhi_pair",
    "load_ebhi_seg",
    "load_extended_yaleb",
    "load_face",
    "load_image",
    "load_kuairand_log",
    "load_kuairand_users",
    "load_kuairand_videos",
    "load_label_cooccurrence",
    "load_label_embeddings",
    "load_palette_annotation",
    "load_sae",
    "load_sequence",
    "load_yalefaces",
    "multi_hot",
    "verify",
    "verify_files",
    "ChecksumMismatchError",
    "DataError",
    "Dataset",
    "DatasetNotFoundError",
    "DownloadError",
    "FetchReport",
    "MalformedDataError",
    "UnsafeArchiveError",
    "UnsafePickleError",
    "data_root",
    "get",
    "locate",
]
