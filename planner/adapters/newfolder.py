"""A new output folder, written whole beside its place and renamed into it.

`write` puts every file into a hidden folder beside `out` (`.<name>.<random>.tmp`), flushes
them with one sync of the file system (else an `fsync` of each file and folder), renames the
folder into place in one step and `fsync`s its parent: the folder appears complete or not
at all, and an error removes the hidden folder. Thousands of files (one per cluster) are
written with plain system calls and plain string paths.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from planner.adapters import durable


def write(out: Path, files: Mapping[str, bytes]) -> None:
    """Write `files` ({path relative to `out`: bytes}) as the new folder `out`; an
    `OSError` (nothing written) when it cannot."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = durable.new_folder(out)
    try:
        root = str(staging)
        folders = {root}  # made below the staging folder
        written = []
        exact = None  # the umask leaves mode 0644 as it is (checked on the first file)
        for rel in sorted(files):
            target = os.path.join(root, rel)
            folder = os.path.dirname(target)
            if folder not in folders:
                _make_folders(folder, folders)
            exact = write_file(target, files[rel], exact)
            written.append(target)
        durable.sync(staging, [*written, *sorted(folders, key=len, reverse=True)])
        os.rename(staging, out)
        durable.sync_folder(out.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _make_folders(folder: str, made: set[str]) -> None:
    """Make `folder` and the folders above it not in `made` (each one `mkdir`, no `stat`:
    below a new staging folder nothing exists that `made` does not know); add them."""
    parent = os.path.dirname(folder)
    if parent not in made:
        _make_folders(parent, made)
    os.mkdir(folder)
    made.add(folder)


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def write_file(path: str, data: bytes, exact: bool | None = None) -> bool:
    """A new file holding `data`, mode 0644 (never an existing file, never through a
    link): `durable.write_file` with plain system calls, for a new folder's thousands.

    The file is created with mode 0644, which the umask may narrow: `exact` None checks
    the mode it got (`fstat`), False sets it (`fchmod`), True trusts the umask to leave it
    (a batch checks its first file). Returns whether the umask left mode 0644 as it is."""
    fd = os.open(path, _NEW_FILE, 0o644)
    try:
        if exact is None:
            exact = os.fstat(fd).st_mode & 0o777 == 0o644
        if not exact:
            os.fchmod(fd, 0o644)
        done = os.write(fd, data)
        if done < len(data):
            view = memoryview(data)[done:]
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return exact
