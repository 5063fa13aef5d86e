"""One flush for many files: a few paths are each fsynced (a rollout step's handful of
files does not wait for the whole disk), many paths take one `syncfs` where it exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from planner.adapters import durable


def _files(folder: Path, count: int) -> list[str]:
    paths = []
    for index in range(count):
        path = folder / f"f{index}.yaml"
        path.write_bytes(b"a: 1\n")
        paths.append(str(path))
    return [*paths, str(folder)]


@pytest.mark.parametrize(
    ("count", "whole_disk"), [(1, False), (durable.FEW_PATHS - 1, False), (200, True)]
)
def test_few_paths_are_fsynced_each_and_many_take_one_flush_of_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, whole_disk: bool
) -> None:
    flushed: list[Path] = []
    synced: list[int] = []
    real_fsync = os.fsync

    def syncfs(anchor: Path) -> bool:
        flushed.append(anchor)
        return True

    monkeypatch.setattr(durable, "_syncfs", syncfs)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    paths = _files(tmp_path, count)
    durable.sync(tmp_path, paths + paths[:1])  # a path named twice is flushed once
    if whole_disk:
        assert flushed == [tmp_path] and synced == []
    else:
        assert flushed == [] and len(synced) == count + 1


def test_many_paths_are_fsynced_each_where_the_disk_cannot_be_flushed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    monkeypatch.setattr(durable, "_syncfs", lambda anchor: False)
    monkeypatch.setattr(os, "fsync", synced.append)
    durable.sync(tmp_path, _files(tmp_path, 100))
    assert len(synced) == 101
