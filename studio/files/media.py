"""The batch inputs that are files rather than rows of a table: a zip of pictures, and recordings.

Pictures: a zip, its pictures run in the zip's order; one folder per class (or a labels.csv of file,label, as
the Fine-tune tab reads them) makes the folders the references. Recordings: several audio or video files, or a
zip of them; a manifest (CSV, TSV or JSONL of file and transcript) or a .txt beside each recording with the same
name gives the references. Members are unpacked into `folder` under names of our own, after the zip safety checks
fine-tuning uses, so a member's name never becomes a path.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from studio.errors import DataError, UserError
from studio.files.archives import checked_members
from studio.files.pictures import from_folders, from_table, label_table
from studio.files.rows import Rows
from studio.files.tables import read_table, read_text
from studio.i18n import word

PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
AUDIO_SUFFIXES = (
    ".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma",
    ".webm", ".mp4", ".mov", ".mkv", ".avi",
)  # fmt: skip
MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl")
TRANSCRIPT_SUFFIX = ".txt"
FILE_COLUMNS = ("file", "filename", "file_name", "path", "audio", "audio_path", "audio_file", "recording", "clip")
TRANSCRIPT_COLUMNS = ("transcript", "transcription", "text", "reference", "sentence", "normalized_text", "label")
MAX_TRANSCRIPT_BYTES = 2**20


def read_pictures(path: str | Path, folder: Path, max_rows: int) -> Rows:
    """The zip's pictures unpacked into `folder`, with their classes as references when it has class folders."""
    path = Path(path)
    if path.suffix.lower() in PICTURE_SUFFIXES:
        raise UserError("The file is a single picture; upload a zip of pictures (one picture goes in the box above).")
    archive = _open_zip(path, "pictures")
    with archive:
        members = checked_members(archive, "picture")
        pictures = [m.filename for m in members if m.filename.lower().endswith(PICTURE_SUFFIXES)]
        if not pictures:
            raise UserError("The zip holds no pictures; upload a zip of JPEG, PNG, WebP, GIF or BMP files.")
        _check_count(len(pictures), max_rows, "pictures")
        table = label_table(archive, members, max_rows)
        if table is not None:
            listed = dict(zip(*from_table(archive, table, set(pictures), max_rows)[:2]))
            labels = [listed.get(name, "") for name in pictures]
        else:
            labels = _folder_classes(pictures, from_folders)
        paths = [_unpack(archive, name, folder / f"{i:06d}{PurePosixPath(name).suffix.lower()}") for i, name in
                 enumerate(pictures)]  # fmt: skip
    if labels is None:
        records = [{"file": name} for name in pictures]
        return Rows(["file"], records, paths, text_column="file")
    records = [{"file": name, "label": label} for name, label in zip(pictures, labels)]
    return Rows(["file", "label"], records, paths, labels, "file", "label")


def _folder_classes(pictures: list[str], from_folders: object) -> list[str] | None:
    """Each picture's class folder, when the pictures sit in two or more of them; None otherwise."""
    try:
        _, labels = from_folders(pictures)  # type: ignore[operator]
    except DataError:
        return None
    return labels if len(set(labels)) > 1 else None


def read_recordings(paths: list[str | Path], folder: Path, max_rows: int) -> Rows:
    """The recordings among the uploads (zips unpacked into `folder`), with transcripts as references if given."""
    recordings: list[tuple[str, str]] = []  # (name the user knows it by, path on disk)
    texts: dict[str, str] = {}  # a .txt's name without its suffix -> its text
    manifests: list[tuple[str, Path]] = []
    for upload in map(Path, paths):
        suffix = upload.suffix.lower()
        if suffix == ".zip":
            archive = _open_zip(upload, "recordings")
            with archive:
                for info in checked_members(archive, "recording"):
                    name, member_suffix = info.filename, PurePosixPath(info.filename).suffix.lower()
                    if member_suffix in AUDIO_SUFFIXES:
                        _check_count(len(recordings) + 1, max_rows, "recordings")
                        target = folder / f"{len(recordings):06d}{member_suffix}"
                        recordings.append((name, _unpack(archive, name, target)))
                    elif member_suffix == TRANSCRIPT_SUFFIX and info.file_size <= MAX_TRANSCRIPT_BYTES:
                        target = folder / f"transcript-{len(texts)}.txt"
                        texts[_stem(name)] = _transcript(Path(_unpack(archive, name, target)))
                    elif member_suffix in MANIFEST_SUFFIXES:
                        target = folder / f"manifest-{len(manifests)}{member_suffix}"
                        manifests.append((name, Path(_unpack(archive, name, target))))
        elif suffix in AUDIO_SUFFIXES:
            _check_count(len(recordings) + 1, max_rows, "recordings")
            recordings.append((upload.name, str(upload)))
        elif suffix == TRANSCRIPT_SUFFIX and upload.stat().st_size <= MAX_TRANSCRIPT_BYTES:
            texts[_stem(upload.name)] = _transcript(upload)
        elif suffix in MANIFEST_SUFFIXES:
            manifests.append((upload.name, upload))
        else:
            if upload.suffix:
                raise UserError(
                    "The file '{name}' ('{suffix}') is not a recording; upload audio or video files "
                    "(WAV, MP3, FLAC, OGG, M4A, MP4, WebM...), or a zip of them.",
                    name=upload.name[:80],
                    suffix=upload.suffix,
                )
            raise UserError(
                "The file '{name}' (without an extension) is not a recording; upload audio or video files "
                "(WAV, MP3, FLAC, OGG, M4A, MP4, WebM...), or a zip of them.",
                name=upload.name[:80],
            )
    if not recordings:
        raise UserError("No recording was given; upload audio or video files, or a zip of them.")
    names = [name for name, _ in recordings]
    references = _manifest_references(manifests, names, max_rows) if manifests else None
    if references is None and texts:
        references = [texts.get(_stem(name), "") for name in names]
    if references is not None and not any(references):
        references = None
    if references is None:
        return Rows(["file"], [{"file": name} for name in names], [p for _, p in recordings], text_column="file")
    records = [{"file": name, "reference": text} for name, text in zip(names, references)]
    return Rows(["file", "reference"], records, [p for _, p in recordings], references, "file", "reference")


def _manifest_references(manifests: list[tuple[str, Path]], names: list[str], max_rows: int) -> list[str]:
    """Each recording's transcript from the manifest: matched by its path in the zip, else by its file name."""
    if len(manifests) > 1:
        listed = ", ".join(f"'{name}'" for name, _ in manifests[:3])
        raise UserError("There are several tables of transcripts ({listed}); keep one and upload again.", listed=listed)
    shown, table_path = manifests[0]
    df = read_table(table_path, max_rows=max_rows)
    columns = {str(c).strip().lower(): c for c in df.columns}
    file_column = next((columns[c] for c in FILE_COLUMNS if c in columns), None)
    text_column = next((columns[c] for c in TRANSCRIPT_COLUMNS if c in columns and columns[c] != file_column), None)
    if file_column is None or text_column is None:
        found = ", ".join(f"'{c}'" for c in list(df.columns)[:10]) or word("none")
        raise UserError(
            "The table '{name}' needs a file column and a transcript column (it has {columns}); "
            "name them file and transcript.",
            name=shown[:80],
            columns=found,
        )
    by_path, by_name = {}, {}
    for listed, text in zip(df[file_column].astype(str), df[text_column].fillna("").astype(str)):
        listed = listed.strip().replace("\\", "/")
        by_path[listed.lstrip("./")] = text.strip()
        by_name[PurePosixPath(listed).name] = text.strip()
    return [by_path.get(name, by_name.get(PurePosixPath(name).name, "")) for name in names]


def _open_zip(path: Path, what: str) -> zipfile.ZipFile:
    """The upload as a zip; `what` it should hold is a word of the translation table ("pictures")."""
    if not path.is_file():
        raise UserError("The file '{name}' does not exist any more; upload it again.", name=path.name)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UserError(
            "The file '{name}' is not a zip archive; upload a .zip of {what}.", name=path.name[:80], what=word(what)
        ) from None


def _unpack(archive: zipfile.ZipFile, name: str, target: Path) -> str:
    """One member copied to `target` (sizes were checked by checked_members), returned as a path string."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(name) as source, open(target, "wb") as copy:
        shutil.copyfileobj(source, copy, 2**20)
    return str(target)


def _check_count(count: int, max_rows: int, what: str) -> None:
    if count > max_rows:
        raise UserError(
            "There are more than {limit:,} {what}, the limit for one run; run a smaller set.",
            limit=max_rows,
            what=word(what),
        )


def _stem(name: str) -> str:
    return str(PurePosixPath(name).with_suffix(""))


def _transcript(path: Path) -> str:
    return " ".join(read_text(path)[0].split())
