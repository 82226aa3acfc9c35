"""Zips of labelled pictures: the safety checks on every member, class folders or a labels.csv of file,label,
and pictures decoded upright and within the pixel limit."""

from __future__ import annotations

import io
import posixpath
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from studio.errors import DataError, UserError
from studio.files.archives import checked_members
from studio.files.classes import check_class_sizes
from studio.files.tables import LABEL_COLUMN_NAMES, natural_order, read_table
from studio.i18n import Listed, word

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
FILE_COLUMN_NAMES = ("file", "filename", "file_name", "image", "image_path", "path", "filepath", "file_path", "img")
SPLIT_FOLDERS = {"train", "training", "val", "valid", "validation", "test", "testing"}
MAX_IMAGE_PIXELS = 50_000_000  # as the app's [app] max_image_pixels
MAX_TABLE_BYTES = 200 * 2**20


# Words of the translation table, as the messages quote them.
FORMATS = "JPEG, PNG, WebP or BMP"
LAYOUT = "one folder of pictures per class (such as roses/1.jpg, tulips/2.jpg), or a labels.csv of file,label"


@dataclass(frozen=True)
class LabelledImages:
    """Pictures in a zip (member names) with their class names, checked: every one decodes, every class has enough."""

    archive: str
    files: list[str]
    labels: list[str]
    label_names: list[str]
    skipped_unreadable: int = 0
    skipped_missing: int = 0  # listed in the table but not in the zip
    dropped_unlabelled: int = 0  # listed in the table without a label
    median_side: int = 0  # the middle one of the pictures' shorter sides, in pixels


def read_images(path: str | Path, max_rows: int = 200_000, training: bool = True) -> LabelledImages:
    """The labelled pictures in a zip, each one decoded once to check it (the unreadable ones are skipped).

    A validation zip (training=False) may hold a single class, or a single picture of one.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("The file '{name}' does not exist any more; upload it again.", name=path.name)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise DataError("The file is a single picture; upload a zip of {layout}.", layout=word(LAYOUT))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError("The file is not a zip archive; upload a .zip of {layout}.", layout=word(LAYOUT)) from None
    with archive:
        members = checked_members(archive)
        pictures = [m for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)]
        if not pictures:
            raise _no_pictures(members)
        if len(pictures) > max_rows:
            raise DataError(
                "The zip holds {count:,} pictures; the limit is {limit:,}, so upload a smaller sample.",
                count=len(pictures),
                limit=max_rows,
            )
        table = label_table(archive, members, max_rows)
        if table is not None:
            files, labels, missing, unlabelled = from_table(archive, table, {m.filename for m in pictures}, max_rows)
        else:
            files, labels = from_folders([m.filename for m in pictures])
            missing = unlabelled = 0
        sizes = [_readable_size(archive, name) for name in files]
    unreadable = Counter(label for label, size in zip(labels, sizes) if size is None)
    files = [name for name, size in zip(files, sizes) if size is not None]
    labels = [label for label, size in zip(labels, sizes) if size is not None]
    _check_classes(labels, unreadable, len(sizes), training)
    sides = sorted(min(size) for size in sizes if size is not None)
    names = natural_order(labels)
    return LabelledImages(
        str(path), files, labels, names, sum(unreadable.values()), missing, unlabelled, sides[len(sides) // 2]
    )


def open_picture(archive: zipfile.ZipFile, name: str, side: int) -> Any:
    """The member as an RGB picture, upright; a JPEG is decoded at no less than twice `side`, which is much faster."""
    return _open_sized(archive, name, side)[0]


def _open_sized(archive: zipfile.ZipFile, name: str, side: int) -> tuple[Any, tuple[int, int]]:
    """The picture as _open gives it, and its width and height as stored (before the faster decoding)."""
    from PIL import Image, ImageOps

    picture = Image.open(io.BytesIO(archive.read(name)))
    width, height = picture.size
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(
            "The picture '{name}' is {width}×{height} pixels; the limit is {megapixels:.0f} megapixels, "
            "so resize it or remove it from the zip.",
            name=name,
            width=width,
            height=height,
            megapixels=MAX_IMAGE_PIXELS / 1e6,
        )
    picture.draft("RGB", (2 * side, 2 * side))
    picture.load()
    return ImageOps.exif_transpose(picture).convert("RGB"), (width, height)


def _readable_size(archive: zipfile.ZipFile, name: str) -> tuple[int, int] | None:
    """The picture's size when the member decodes as a picture, else None; one too large is refused, not skipped."""
    import zlib

    from PIL import Image

    try:
        return _open_sized(archive, name, 32)[1]
    except Image.DecompressionBombError:
        raise DataError(
            "The picture '{name}' is larger than {megapixels:.0f} megapixels; resize it or remove it from the zip.",
            name=name,
            megapixels=MAX_IMAGE_PIXELS / 1e6,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, Image.UnidentifiedImageError):
        return None


def _no_pictures(members: list[zipfile.ZipInfo]) -> DataError:
    suffixes = Counter(PurePosixPath(m.filename).suffix.lower() or word("(no extension)") for m in members)
    if not suffixes:
        return DataError("The zip is empty; upload a zip of {layout}.", layout=word(LAYOUT))
    held = [UserError("{count} {suffix}", count=n, suffix=suffix) for suffix, n in suffixes.most_common(3)]
    return DataError(
        "The zip holds no {formats} pictures (it has {held} files); upload a zip of {layout}.",
        formats=word(FORMATS),
        held=Listed(held, Listed.COMMA),
        layout=word(LAYOUT),
    )


def from_folders(names: list[str]) -> tuple[list[str], list[str]]:
    """Each picture with its class: the first folder below the folder all the pictures share."""
    parents = [PurePosixPath(name).parent.parts for name in names]
    root = parents[0]
    for parent in parents[1:]:
        common = 0
        while common < min(len(root), len(parent)) and root[common] == parent[common]:
            common += 1
        root = root[:common]
    if all(parent == root for parent in parents) and root:
        root = root[:-1]  # everything in one folder: that folder is the (only) class
    loose = [name for name, parent in zip(names, parents) if len(parent) == len(root)]
    if loose:
        raise _loose_pictures(loose, len(names), "/".join(root))
    labels = [parent[len(root)] for parent in parents]
    classes = set(labels)
    if classes <= SPLIT_FOLDERS and len(classes) > 1 and all(len(p) > len(root) + 1 for p in parents):
        raise DataError(
            "The zip's folders are {listed} splits with the class folders inside them; upload the training "
            "folder's zip as the data and the other one as the validation file.",
            listed=Listed(sorted(classes), Listed.AND, Listed.AND),
        )
    return names, labels


def _loose_pictures(loose: list[str], total: int, root: str) -> DataError:
    """Pictures that sit at the top (of the folder all share, `root`) rather than in class folders: one whole
    sentence for each case, as the translation table holds them."""
    if len(loose) == total and root:
        return DataError(
            "All the pictures sit at the top of '{root}' rather than in class folders; put each class's pictures in "
            "a folder named after the class, or add a labels.csv of file,label.",
            root=root,
        )
    if len(loose) == total:
        return DataError(
            "All the pictures sit at the top rather than in class folders; put each class's pictures in a folder "
            "named after the class, or add a labels.csv of file,label."
        )
    if root:
        return DataError(
            "{count} pictures (such as '{first}') sit at the top of '{root}' rather than in class folders; put each "
            "class's pictures in a folder named after the class, or add a labels.csv of file,label.",
            count=len(loose),
            first=loose[0],
            root=root,
        )
    return DataError(
        "{count} pictures (such as '{first}') sit at the top rather than in class folders; put each class's "
        "pictures in a folder named after the class, or add a labels.csv of file,label.",
        count=len(loose),
        first=loose[0],
    )


def label_table(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], max_rows: int
) -> tuple[zipfile.ZipInfo, Any] | None:
    """The one table in the zip that names a file column and a label column, read; None when there is none."""
    tables = [m for m in members if m.filename.lower().endswith(TABLE_SUFFIXES)]
    found, unusable = [], []
    for info in tables:
        df = _read_member_table(archive, info, max_rows)
        file_column = _named(list(df.columns), FILE_COLUMN_NAMES)
        label_column = _named([c for c in df.columns if c != file_column], LABEL_COLUMN_NAMES)
        if file_column is None or label_column is None:
            unusable.append((info, df))
        else:
            found.append((info, df[[file_column, label_column]].set_axis(["file", "label"], axis=1)))
    if len(found) > 1:
        listed = ", ".join(f"'{info.filename}'" for info, _ in found[:3])
        raise DataError(
            "The zip holds several tables of file,label ({listed}); keep only one and upload it again.", listed=listed
        )
    if found:
        return found[0]
    if unusable and not _in_class_folders(members):
        info, df = unusable[0]
        columns = ", ".join(f"'{c}'" for c in list(df.columns)[:10]) or word("none")
        raise DataError(
            "The table '{name}' needs a file column and a label column (it has {columns}); "
            "name them file and label, or put the pictures in one folder per class.",
            name=info.filename,
            columns=columns,
        )
    return None


def _in_class_folders(members: list[zipfile.ZipInfo]) -> bool:
    try:
        from_folders([m.filename for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)])
        return True
    except DataError:
        return False


def _read_member_table(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_rows: int) -> Any:
    """A table inside the zip, read the way an uploaded table is (it is written to a temporary file for that)."""
    if info.file_size > MAX_TABLE_BYTES:
        raise DataError(
            "The table '{name}' is over {mb} MB; list the pictures in a smaller file.",
            name=info.filename,
            mb=MAX_TABLE_BYTES // 2**20,
        )
    with tempfile.TemporaryDirectory(prefix="model-studio-table-") as folder:
        copy = Path(folder) / f"table{PurePosixPath(info.filename).suffix.lower()}"
        copy.write_bytes(archive.read(info))
        try:
            return read_table(copy, max_rows=max_rows, max_bytes=MAX_TABLE_BYTES)
        except DataError as e:
            raise DataError("In the zip's table '{name}': {error}", name=info.filename, error=e) from None


def from_table(
    archive: zipfile.ZipFile, table: tuple[zipfile.ZipInfo, Any], pictures: set[str], max_rows: int
) -> tuple[list[str], list[str], int, int]:
    """The pictures the table lists with their labels; how many it lists that are not in the zip, or unlabelled."""
    info, df = table
    if len(df) > max_rows:
        raise DataError(
            "The table '{name}' has {rows:,} rows; the limit is {limit:,}.",
            name=info.filename,
            rows=len(df),
            limit=max_rows,
        )
    folder = posixpath.dirname(info.filename)
    files, labels, missing, unlabelled, first_missing = [], [], 0, 0, ""
    for raw_file, raw_label in zip(df["file"].tolist(), df["label"].tolist()):
        listed = str(raw_file).strip().replace("\\", "/")
        label = str(raw_label).strip()
        if not label:
            unlabelled += 1
            continue
        member = _member_for(listed, folder, pictures)
        if member is None:
            missing += 1
            first_missing = first_missing or listed
            continue
        files.append(member)
        labels.append(label)
    if not files:
        raise DataError(
            "None of the {count:,} files the table '{name}' lists is a picture in the zip "
            "(the first is '{first}'); give each file's path relative to the table, such as images/1.jpg.",
            count=len(df),
            name=info.filename,
            first=first_missing,
        )
    return files, labels, missing, unlabelled


def _member_for(listed: str, folder: str, pictures: set[str]) -> str | None:
    """The zip member a table's file names: relative to the table's folder, else to the zip's top."""
    if not listed:
        return None
    for base in (folder, ""):
        candidate = posixpath.normpath(posixpath.join(base, listed.lstrip("/")))
        if candidate in pictures:
            return candidate
    return None


def _check_classes(labels: list[str], unreadable: Counter, total: int, training: bool) -> None:
    counts = Counter(labels)
    if not counts:
        raise DataError(
            "None of the {count:,} pictures in the zip could be read; "
            "upload {formats} files that open on your computer.",
            count=total,
            formats=word(FORMATS),
        )
    if not training:
        return
    every = counts | unreadable
    if len(every) == 1:
        only = next(iter(every))
        raise DataError("Every picture is in the class '{label}'; a classifier needs at least two classes.", label=only)
    broken = {label: UserError(" ({count} more could not be read)", count=n) for label, n in unreadable.items()}
    check_class_sizes({label: counts[label] for label in every}, "pictures", notes=broken)


def _named(columns: list[Any], names: tuple[str, ...]) -> Any:
    normal = {column: str(column).strip().lower() for column in columns}
    return next((column for name in names for column in columns if normal[column] == name), None)


def labels_table(rows: Any) -> str:
    """A zip's labels.csv of file,label for (member name, label) rows, as read_images reads it."""
    import csv

    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["file", "label"])
    writer.writerows(rows)
    return table.getvalue()
