"""Zip archives a user uploads, checked before anything is unpacked: no member pointing outside the zip, no zip
bomb, no password, no compression we cannot read."""

from __future__ import annotations

import re
import zipfile

from studio.errors import DataError
from studio.i18n import word

MAX_TOTAL_BYTES = 4 * 2**30  # all members together, uncompressed
MAX_MEMBER_BYTES = 512 * 2**20


# Photos hardly compress; a big member that shrank 200-fold is a bomb, not a picture.
MAX_RATIO = 200
RATIO_CHECKED_FROM = 8 * 2**20
READABLE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_DRIVE = re.compile(r"^[A-Za-z]:")


def checked_members(archive: zipfile.ZipFile, what: str = "picture") -> list[zipfile.ZipInfo]:
    """The zip's files that are the user's (no folders, hidden files or __MACOSX), after the safety checks.

    `what` the zip should hold, for the messages: "picture" or "recording" (words of the translation table).
    """
    infos = archive.infolist()
    total = 0
    for info in infos:
        name = info.filename
        parts = re.split(r"[/\\]", name)
        if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
            raise DataError(
                "The zip holds a file named '{name}', which points outside the zip's folders; "
                "zip the folders again without it and upload the zip again.",
                name=name,
            )
        total += info.file_size
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise DataError(
                "The zip's file '{name}' unpacks to {size} from {packed}, "
                "which is what a zip bomb does, not a {what}; zip the {what}s themselves and upload again.",
                name=name,
                size=_gib(info.file_size),
                packed=_gib(info.compress_size),
                what=word(what),
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataError(
                "The zip's file '{name}' is {size}; each {what} may be at most {limit}, so resize it or remove it.",
                name=name,
                size=_gib(info.file_size),
                what=word(what),
                limit=_gib(MAX_MEMBER_BYTES),
            )
        if total > MAX_TOTAL_BYTES:
            raise DataError(
                "The zip unpacks to more than {limit}, the limit; upload a smaller sample.", limit=_gib(MAX_TOTAL_BYTES)
            )
    members = [info for info in infos if not info.is_dir() and _visible(info.filename)]
    for info in members:
        if info.flag_bits & 0x1:
            raise DataError("The zip is password-protected; zip the {what}s again without a password.", what=word(what))
        if info.compress_type not in READABLE_COMPRESSION:
            raise DataError(
                "The zip was packed with a compression method this app cannot read ('{name}'); "
                "zip it again with the standard Deflate method, as most zip tools do by default.",
                name=info.filename,
            )
    return members


def _visible(name: str) -> bool:
    parts = [part for part in name.split("/") if part]
    return bool(parts) and not any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"
