"""Writing many generated files: atomic per file, one sync per batch, nothing left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from planner.adapters import files, newfolder
from planner.errors import UserError


def _all(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_batch_writes_every_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    wanted = {f"clusters/c{i:03d}/sync.yaml": f"cluster {i}\n".encode() for i in range(150)}
    files.write_many({tmp_path / rel: data for rel, data in wanted.items()})
    assert _all(tmp_path) == wanted
    assert all(oct(p.stat().st_mode)[-3:] == "644" for p in tmp_path.rglob("*.yaml"))


def test_a_failed_batch_removes_its_temporary_files(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_bytes(b"old\n")
    (tmp_path / "blocked").write_bytes(b"a file where a folder should be\n")
    batch = {tmp_path / f"new{i}.yaml": b"new\n" for i in range(100)}
    batch[tmp_path / "blocked" / "x.yaml"] = b"x\n"
    batch[tmp_path / "old.yaml"] = b"replaced\n"
    with pytest.raises(UserError, match="cannot write"):
        files.write_many(batch)
    left = _all(tmp_path)
    assert left["old.yaml"] == b"old\n"
    assert not [p for p in left if p.endswith(".tmp")]
    assert not [p for p in left if p.startswith("new")]


def test_write_changed_writes_only_what_differs(tmp_path: Path) -> None:
    files.write_tree(tmp_path, {"a.yaml": b"a\n", "b/c.yaml": b"c\n"})
    before = (tmp_path / "a.yaml").stat().st_mtime_ns
    assert files.write_changed(tmp_path, {"a.yaml": b"a\n", "b/c.yaml": b"C\n"}) == ["b/c.yaml"]
    assert (tmp_path / "a.yaml").stat().st_mtime_ns == before
    assert (tmp_path / "b" / "c.yaml").read_bytes() == b"C\n"
    assert files.generated(tmp_path) == {"a.yaml", "b/c.yaml"}


def test_a_new_output_folder_appears_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = {f"clusters/c{i:03d}/sync.yaml": f"cluster {i}\n".encode() for i in range(150)}
    out = tmp_path / "waves" / "flux"
    diff = files.write_tree(out, wanted)
    assert diff.added == tuple(sorted(wanted)) and not diff.changed and not diff.removed
    assert {k: v for k, v in _all(out).items() if k != files.MANIFEST} == wanted
    assert files.generated(out) == set(wanted)
    assert all(oct(p.stat().st_mode)[-3:] == "644" for p in out.rglob("*.yaml"))
    assert sorted(p.name for p in (tmp_path / "waves").iterdir()) == ["flux"]

    calls = 0
    real = newfolder.write_file

    def failing(path: str, data: bytes, exact: bool | None = None) -> bool:
        nonlocal calls
        calls += 1
        if calls == 100:
            raise OSError(28, "No space left on device")
        return real(path, data, exact)

    monkeypatch.setattr(newfolder, "write_file", failing)
    with pytest.raises(UserError, match="cannot write"):
        files.write_tree(tmp_path / "waves" / "argocd", wanted)
    assert sorted(p.name for p in (tmp_path / "waves").iterdir()) == ["flux"]


def test_a_new_output_folder_has_mode_0644_files_whatever_the_umask(tmp_path: Path) -> None:
    wanted = {f"clusters/c{i:03d}/sync.yaml": b"x\n" for i in range(80)}
    for umask, name in ((0o077, "narrow"), (0o002, "wide")):
        old = os.umask(umask)
        try:
            files.write_tree(tmp_path / name, wanted)
        finally:
            os.umask(old)
        modes = {oct(p.stat().st_mode)[-3:] for p in (tmp_path / name).rglob("*.yaml")}
        assert modes == {"644"}, (name, modes)


def _manifest_listing(out: Path, *entries: str) -> None:
    (out / files.MANIFEST).write_bytes(files.manifest_bytes(entries))


def test_symbolic_links_below_the_folder_are_followed_where_they_lead(tmp_path: Path) -> None:
    """Only a path through a link is resolved: inside the folder it is fine, outside it is
    bad input (nothing written or deleted), a loop cannot be resolved."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "real").mkdir(parents=True)
    outside.mkdir()
    (out / "inside").symlink_to(out / "real")
    (out / "escape").symlink_to(outside)
    (out / "loop").symlink_to(out / "loop")
    (out / "real" / "a.yaml").write_bytes(b"a\n")
    (outside / "b.yaml").write_bytes(b"keep me\n")
    _manifest_listing(out, "real/a.yaml", "inside/a.yaml")
    assert files.generated(out) == {"real/a.yaml", "inside/a.yaml"}
    for entry, why in (("escape/b.yaml", "resolves outside"), ("loop/x", "cannot be resolved")):
        _manifest_listing(out, "real/a.yaml", entry)
        with pytest.raises(UserError, match=why):
            files.write_tree(out, {"real/a.yaml": b"a\n"})
    assert (outside / "b.yaml").read_bytes() == b"keep me\n"
    _manifest_listing(out, "real/a.yaml")
    with pytest.raises(UserError, match="leads outside"):
        files.write_tree(out, {"real/a.yaml": b"a\n", "escape/c.yaml": b"c\n"})
    assert sorted(p.name for p in outside.iterdir()) == ["b.yaml"]
    diff = files.write_tree(out, {"real/a.yaml": b"A\n", "inside/b.yaml": b"b\n"})
    assert diff.changed == ("real/a.yaml",) and diff.added == ("inside/b.yaml",)
    assert (out / "real" / "b.yaml").read_bytes() == b"b\n"


def test_leftovers_of_an_interrupted_write_are_removed(tmp_path: Path) -> None:
    from planner.adapters import files

    out = tmp_path / "out"
    files.write_tree(out, {"wave-canary.yaml": b"a\n"})
    (out / ".wave-canary.yaml.k3j4h5.tmp").write_text("half")
    (out / ".notes.tmp").write_text("someone else's")
    files.write_tree(out, {"wave-canary.yaml": b"b\n"})
    assert sorted(p.name for p in out.iterdir()) == [
        ".notes.tmp", ".wave-planner-manifest.json", "wave-canary.yaml",
    ]  # fmt: skip
