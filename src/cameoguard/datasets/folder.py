"""A generic real/fake folder tree (also CNNDetection's ``0_real``/``1_fake``).

What flows through here: a folder goes in; every image or video (by suffix) below a folder
named ``real`` / ``0_real`` or ``fake`` / ``1_fake`` (any case, at any depth) comes out as a
sample of that label. What lies above the class folder is the category: for a fake, its first
part is the method (``stargan/fake/x.jpg`` is a ``stargan`` fake) unless ``method`` is given.
Media files outside any class folder are left out and counted in the notes; a file below both
a real and a fake folder is an error.

A sample's group is its file stem, or with ``group_by="parent"`` the folders between the
class folder and the file (``real/person1/a.jpg`` and ``fake/person1/b.jpg`` share
``person1``). CNNDetection images (a path part containing ``cnndetection``) get the 50 px
border crop unless ``crop_border`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path

from cameoguard.datasets._common import Problems, iter_media_files, require_dir
from cameoguard.datasets.base import (
    CNNDETECTION_CROP,
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    Dataset,
    Label,
    MediaSample,
    media_from_suffix,
    register_loader,
)
from cameoguard.errors import BadInputError

__all__ = ["CLASS_FOLDERS", "is_cnndetection", "load_folder"]

#: Folder names (lower case) that give their contents a label.
CLASS_FOLDERS = {"real": Label.REAL, "0_real": Label.REAL, "fake": Label.FAKE, "1_fake": Label.FAKE}

_LAYOUT = (
    "a folder dataset holds real/** and fake/** (or CNNDetection's 0_real/ and 1_fake/), at "
    "any depth, with images or videos inside"
)


def is_cnndetection(path: Path) -> bool:
    """Whether ``path`` lies in a CNNDetection tree (its images carry a label border)."""
    return any("cnndetection" in part.lower() for part in path.parts)


def _classify(rel: Path) -> tuple[Label, int] | str | None:
    """The label and the index of the class folder in ``rel``; a message if they conflict."""
    found = [
        (i, CLASS_FOLDERS[p.lower()])
        for i, p in enumerate(rel.parts[:-1])
        if p.lower() in CLASS_FOLDERS
    ]
    if not found:
        return None
    if len({label for _, label in found}) > 1:
        return "it lies below both a real and a fake folder"
    index, label = found[-1]
    return label, index


@register_loader("folder")
def load_folder(
    root: Path,
    *,
    group_by: str = "stem",
    method: str | None = None,
    crop_border: bool | None = None,
    dataset: str = "folder",
) -> Dataset:
    """Images and videos under real/ and fake/ folders of ``root``.

    ``group_by`` is ``"stem"`` or ``"parent"``; ``crop_border`` True crops every image's
    CNNDetection border, False none, None (default) those in a CNNDetection tree.
    """
    if group_by not in ("stem", "parent"):
        raise BadInputError(
            f"group_by={group_by!r} is not a grouping; use 'stem' or 'parent'",
            code="datasets.bad_option",
        )
    require_dir(root, _LAYOUT)
    if not any(p.name.lower() in CLASS_FOLDERS and p.is_dir() for p in root.rglob("*")):
        raise BadInputError(
            f"{root} has no real/ or fake/ folder: {_LAYOUT}", code="datasets.layout"
        )
    problems = Problems(f"folder dataset at {root}")
    samples: list[MediaSample] = []
    outside = 0
    for path in iter_media_files(root, IMAGE_SUFFIXES | VIDEO_SUFFIXES):
        rel = path.relative_to(root)
        found = _classify(rel)
        if found is None:
            outside += 1
            continue
        if isinstance(found, str):
            problems.add(f"{rel}: {found}")
            continue
        label, index = found
        media = media_from_suffix(path)
        assert media is not None  # iter_media_files only yields known suffixes
        category = rel.parts[:index]
        below = rel.parts[index + 1 : -1]
        group = "/".join(below) if group_by == "parent" and below else path.stem
        fake_method = method or (category[0] if category else None)
        crop = crop_border if crop_border is not None else is_cnndetection(path)
        samples.append(
            MediaSample(
                path=path,
                label=label,
                media=media,
                dataset=dataset,
                group=group,
                method=fake_method if label is Label.FAKE else None,
                crop=CNNDETECTION_CROP if crop and media == "image" else None,
                extra={"category": "/".join(category)} if category else {},
            )
        )
    problems.raise_if_any("move each file below exactly one real/ or fake/ folder")
    notes: tuple[str, ...] = ()
    if outside:
        notes = (f"{outside} media file(s) outside any real/ or fake/ folder have no label",)
    return Dataset("folder", root, tuple(samples), notes=notes)
