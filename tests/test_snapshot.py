"""Repository paths and in-memory snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.snapshot import (
    DirectoryIndex,
    MemorySnapshot,
    escapes,
    join,
    normalize,
    parent,
    resolve_links,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("./a/b/", "a/b"), ("/a", "a"), ("", "."), ("a/../..", ".."), ("a\\b", "a/b")],
)
def test_normalize(path: str, expected: str) -> None:
    assert normalize(path) == expected


def test_join_and_escapes() -> None:
    assert join("clusters/a", "../../base") == "base"
    assert escapes(join("clusters", "../../etc"))
    assert not escapes(join(".", "base"))


def test_resolve_links_inside_and_outside() -> None:
    links = {"l": "a/b", "out": "../etc", "loop": "loop", "chain": "l", "a/b/up": "../.."}
    assert resolve_links("l/c.yaml", links.get) == ("a/b/c.yaml", ("l",))
    assert resolve_links("chain/c.yaml", links.get) == ("a/b/c.yaml", ("chain", "l"))
    assert resolve_links("l/up/base", links.get) == ("base", ("l", "a/b/up"))
    assert resolve_links("out/x", links.get) == (None, ("out",))
    assert resolve_links("loop/x", links.get)[0] is None


def test_memory_snapshot_folders_and_reads() -> None:
    snap = MemorySnapshot({"a/b/c.yaml": b"x", "a/d.yaml": b"y"}, "rev")
    assert snap.is_dir("a") and snap.is_dir("a/b") and not snap.is_dir("a/d.yaml")
    assert snap.exists("a/d.yaml")
    assert snap.list_dir("a") == (["a/b"], ["a/d.yaml"])
    assert snap.read_many(["a/d.yaml", "missing"]) == {"a/d.yaml": b"y"}
    assert snap.read("missing") is None


@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "b", "c.yaml", "kustomization.yaml"]), min_size=1, max_size=4
        ).map("/".join),
        max_size=12,
    )
)
def test_directory_index_lists_every_folder(paths: list[str]) -> None:
    """Folders and their children as `parent` derives them from the file list."""
    files = sorted(set(paths))
    index = DirectoryIndex(files)
    dirs = {"."}
    for path in files:
        d = parent(path)
        while d != ".":
            dirs.add(d)
            d = parent(d)
    assert index.dirs == dirs
    for d in dirs:
        subdirs = sorted(x for x in dirs if x != "." and parent(x) == d)
        assert index.list_dir(d) == (subdirs, [f for f in files if parent(f) == d])
