"""Datasets for training and evaluating detectors: labelled files and leak-free splits.

What flows through here: a dataset root goes into :func:`load_dataset` with a loader name and
comes out as a :class:`Dataset` of :class:`MediaSample` values (path, REAL/FAKE label, media,
group, method, compression, the ids involved, a crop box); :func:`split_by_group` turns
samples into train/val/test parts in which no video or identity appears twice.

* :mod:`.base`: the values and the loader registry;
* :mod:`.faceforensics` (``faceforensics``, ``ffpp_flat``), :mod:`.celebdf` (``celebdf``),
  :mod:`.dfdc` (``dfdc``), :mod:`.folder` (``folder``), :mod:`.csv_labels` (``csv``): one
  loader each; loaders list files and read label files, they never decode media;
* :mod:`.splits`: connected-component splits by a keyed hash, and the leakage check.

Importing this package loads no loader module; :func:`load_dataset` does on first use.
:mod:`.crops` extracts face crops (cached by content hash). Still to come (issue 6): a
synthetic builder of face-swapped
samples from the cameo_composite backend.
"""

from cameoguard.datasets.base import (
    Dataset,
    Label,
    MediaSample,
    available_loaders,
    combine_datasets,
    load_dataset,
    loader_options,
    register_loader,
)
from cameoguard.datasets.splits import check_no_leakage, label_balance, split_by_group

__all__ = [
    "Dataset",
    "Label",
    "MediaSample",
    "available_loaders",
    "check_no_leakage",
    "combine_datasets",
    "label_balance",
    "load_dataset",
    "loader_options",
    "register_loader",
    "split_by_group",
]
