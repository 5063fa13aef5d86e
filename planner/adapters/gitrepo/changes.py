"""A commit of HEAD with some files changed, built from the changed folders' trees only.

`prepare_changes` makes the commit `prepare_commit` makes of the folders a transaction
writes in (their whole new content: the transaction's files over the work tree), without
hashing or listing every file of those folders in Python, and without loading HEAD into an
index. What can differ from HEAD in those folders is: the transaction's own files, the files
git reports as differing from HEAD (`diff-index` against the work tree, from the index's
cached file status, as `git add -A` decides what to hash again), the untracked files
(`ls-files --others`, ignored ones included, as the full path walks every file) and
committed temporary files (never carried). Only those are hashed; every other entry keeps
HEAD's blob. HEAD's trees along their paths are read with one `cat-file --batch`, changed,
and written with one `hash-object -t tree` (their ids computed here and checked).

Whenever git would convert or treat a file specially (`.gitattributes`, `core.autocrlf`,
`core.filemode=false`, `core.symlinks=false`, a sparse checkout, a submodule or a folder
link in a changed folder, a repository without commits, no branch), or when most of the
folders change (`MANY_FILES`), it returns None and the caller takes the full path
(`prepare_commit`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from planner.adapters.gitrepo.commits import PreparedCommit, make_commit
from planner.adapters.gitrepo.process import call, run

_KEY = "--commit"
ATTRIBUTES = ".gitattributes"
# configuration under which git's view of a file is not its bytes and mode as they are
_SPECIAL_CONFIG: dict[str, Callable[[str], bool]] = {
    "core.autocrlf": lambda v: v.lower() not in ("false", "no", "off", "0"),
    "core.filemode": lambda v: v.lower() in ("false", "no", "off", "0"),
    "core.symlinks": lambda v: v.lower() in ("false", "no", "off", "0"),
    "core.sparsecheckout": lambda v: v.lower() in ("true", "yes", "on", "1"),
    "core.attributesfile": bool,
}
MANY_FILES = 2000  # more files to hash than this: the full path (which reads no bytes twice)
Entry = tuple[str, str]  # (mode, sha) as ls-tree writes them; "040000" for a folder


def is_temporary(name: str) -> bool:
    """A leftover of an interrupted atomic write (`.<name>.<random>.tmp`): never carried."""
    return name.startswith(".") and name.endswith(".tmp")


def prepare_changes(
    root: Path, changes: Mapping[str, bytes | None], message: str, *, sign: bool = False
) -> PreparedCommit | None:
    """A commit of HEAD where each top folder `changes` writes in (its first path part
    below `root`'s first level: `waves/<folder>`) holds its work-tree content with
    `changes` ({path relative to `root`: new bytes, or None to remove}) applied; None when
    the full path must build it. Nothing visible changes: objects are written, the branch
    and the index are not."""
    proc = call(
        root, "rev-parse", "--show-toplevel", "--show-prefix", "--absolute-git-dir",
        "--show-object-format", "HEAD", "--symbolic-full-name", "HEAD",
        filters=False,
    )  # fmt: skip
    head_info = proc.stdout.decode(errors="surrogateescape").split("\n")
    if proc.returncode != 0 or len(head_info) < 6 or not head_info[5].startswith("refs/"):
        return None  # no commit yet, or no branch: the full path says what is wrong
    top, prefix, git_dir, object_format, parent, ref = (Path(head_info[0]), *head_info[1:6])
    if object_format not in ("sha1", "sha256") or _special_config(root, Path(git_dir)):
        return None
    new = {prefix + path: data for path, data in changes.items() if "/" in path.strip("/")}
    tops = sorted(
        {
            prefix + _top(path)
            for path, data in changes.items()
            if data is not None or os.path.lexists(root / path)
        }
    )
    if not tops:
        return None
    literal = [f":(top,literal){t}" for t in tops]
    dirty = run(root, "diff-index", "-z", "--name-only", "--no-renames", parent, "--", *literal)
    untracked = run(root, "ls-files", "-z", "--others", "--full-name", "--", *literal)
    odd = [f":(top,glob){t}/**/{name}" for t in tops for name in (".*tmp", ATTRIBUTES)]
    tracked_odd = _paths(run(root, "ls-files", "-z", "--full-name", "--", *odd, key=_KEY))
    others = [p for p in _paths(dirty) + _paths(untracked) if p not in new]
    reported = set(others)
    if any(p.endswith("/") or "\n" in p for p in (*others, *new)):
        return None  # a repository inside the folder; a name `cat-file` cannot take
    for path in (*new, *others, *tracked_odd):
        if _attributes_may_apply(top, path):
            return None
    entries: dict[str, Entry | None] = {
        p: None for p in tracked_odd if is_temporary(p.rsplit("/", 1)[-1]) and p not in new
    }
    blobs: dict[str, bytes] = {p: d for p, d in new.items() if d is not None}
    entries.update({p: None for p, d in new.items() if d is None})
    on_disk: list[str] = []
    for path in others:
        if is_temporary(path.rsplit("/", 1)[-1]):
            entries[path] = None  # never carried, even when committed before
            continue
        try:
            info = os.lstat(top / path)
        except (FileNotFoundError, NotADirectoryError):
            entries[path] = None
            continue
        if stat.S_ISLNK(info.st_mode):
            if (top / path).is_dir():
                return None
            link = os.fsencode(os.readlink(top / path))
            entries[path] = ("120000", _write_blob(root, link))
        elif stat.S_ISREG(info.st_mode):
            on_disk.append(path)
        else:
            return None  # a folder where a file was: the full path
    if len(blobs) + len(on_disk) > MANY_FILES:
        return None  # most of the folders change (a new rollout): the full path is as fast
    entries.update(_hash(root, top, Path(git_dir), blobs, on_disk))
    trees = _read_trees(root, parent, _folders(entries))
    if trees is None:
        return None
    tree = _write_trees(root, Path(git_dir), trees, entries, object_format)
    sha = make_commit(root, tree, parent, message, sign=sign)
    # the index needs only the entries that differ from HEAD (the others are HEAD's)
    head = {path: _old(trees, path) for path in entries}
    differ = sorted(p for p, entry in entries.items() if entry != head[p] or p in reported)
    changed = tuple((e[0], e[1], p) for p in differ if (e := entries[p]) is not None)
    removed = tuple(p for p in differ if entries[p] is None)
    return PreparedCommit(top, sha, parent, ref, changed, (), removed, tuple(tops))


def _folders(entries: Iterable[str]) -> list[str]:
    """Every folder holding one of `entries`, and the folders above them: deepest first,
    the root folder ("") last."""
    out: set[str] = set()
    for path in entries:
        folder = path.rpartition("/")[0]
        while folder not in out:
            out.add(folder)
            if not folder:
                break
            folder = folder.rpartition("/")[0]
    return sorted(out, key=lambda f: (-f.count("/") if f else 1, f))


def _old(trees: Mapping[str, Mapping[str, Entry]], path: str) -> Entry | None:
    folder, _, name = path.rpartition("/")
    return trees.get(folder, {}).get(name)


def _top(path: str) -> str:
    """`waves/<folder>` of `waves/<folder>/...` (its first two parts)."""
    first, _, rest = path.partition("/")
    return f"{first}/{rest.split('/', 1)[0]}"


def _paths(out: bytes) -> list[str]:
    return [p for p in out.decode(errors="surrogateescape").split("\0") if p]


def _special_config(root: Path, git_dir: Path) -> bool:
    out = run(root, "config", "-z", "--get-regexp", r"^core\.", key=_KEY)
    for item in out.decode(errors="replace").split("\0"):
        name, _, value = item.partition("\n")
        test = _SPECIAL_CONFIG.get(name.lower())
        if test is not None and test(value):
            return True
    common = Path(run(root, "rev-parse", "--git-common-dir", key=_KEY).decode().strip())
    common = common if common.is_absolute() else root / common
    return any(
        _non_empty(p)
        for p in (
            git_dir / "info" / "attributes",
            common / "info" / "attributes",
            Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
            / "git"
            / "attributes",
            Path("/etc/gitattributes"),
        )
    )


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _attributes_may_apply(top: Path, path: str) -> bool:
    """A `.gitattributes` file in the work tree above or beside `path`, or `path` one."""
    if path.rsplit("/", 1)[-1] == ATTRIBUTES:
        return True
    parts = path.split("/")[:-1]
    return any(_lexists(top / "/".join(parts[:i]) / ATTRIBUTES) for i in range(len(parts) + 1))


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def _read_trees(root: Path, commit: str, folders: list[str]) -> dict[str, dict[str, Entry]] | None:
    """The entries of `folders` in `commit` (one `cat-file --batch`; a folder it does not
    have is empty); None when one is a file or holds a submodule."""
    names = [f"{commit}:{folder}" if folder else f"{commit}^{{tree}}" for folder in folders]
    wanted = b"".join(os.fsencode(name) + b"\n" for name in names)
    out = run(root, "cat-file", "--batch", input=wanted, key=_KEY)
    trees: dict[str, dict[str, Entry]] = {}
    at = 0
    for folder in folders:
        end = out.index(b"\n", at)
        header = out[at:end].split(b" ")
        at = end + 1
        if header[-1] == b"missing":
            trees[folder] = {}
            continue
        if header[1] != b"tree":
            return None
        size = int(header[2])
        entries = _parse_tree(out[at : at + size], (len(header[0]) // 2))
        at += size + 1
        if any(mode == "160000" for mode, _ in entries.values()):
            return None
        trees[folder] = entries
    return trees


def _parse_tree(raw: bytes, width: int) -> dict[str, Entry]:
    """A tree object's entries: {name: (mode as ls-tree writes it, sha)}."""
    entries: dict[str, Entry] = {}
    at = 0
    while at < len(raw):
        space = raw.index(b" ", at)
        nul = raw.index(b"\0", space)
        mode = raw[at:space].decode().rjust(6, "0")
        name = os.fsdecode(raw[space + 1 : nul])
        entries[name] = (mode, raw[nul + 1 : nul + 1 + width].hex())
        at = nul + 1 + width
    return entries


def _hash(
    root: Path, top: Path, git_dir: Path, blobs: Mapping[str, bytes], on_disk: list[str]
) -> dict[str, Entry]:
    """Write the blobs of new bytes and of work-tree files (one `hash-object`, no filters):
    {path: (mode, sha)}."""
    with tempfile.TemporaryDirectory(prefix="wave-planner-blobs-", dir=git_dir) as folder:
        sources: list[str] = []
        for i, data in enumerate(blobs.values()):
            name = os.path.join(folder, str(i))
            with open(name, "wb") as handle:
                handle.write(data)
            sources.append(name)
        sources += [str(top / p) for p in on_disk]
        if not sources:
            return {}
        out = run(
            root, "hash-object", "-w", "--no-filters", "--stdin-paths",
            input=("\n".join(sources) + "\n").encode(errors="surrogateescape"), key=_KEY,
        ).decode().split()  # fmt: skip
    modes = ["100644"] * len(blobs)
    modes += ["100755" if os.access(top / p, os.X_OK) else "100644" for p in on_disk]
    return {
        path: (mode, sha) for path, mode, sha in zip([*blobs, *on_disk], modes, out, strict=True)
    }


def _write_blob(root: Path, data: bytes) -> str:
    return run(root, "hash-object", "-w", "--stdin", input=data, key=_KEY).decode().strip()


def _write_trees(
    root: Path,
    git_dir: Path,
    trees: Mapping[str, Mapping[str, Entry]],
    entries: Mapping[str, Entry | None],
    object_format: str,
) -> str:
    """HEAD's trees with `entries` applied, deepest first, written with one
    `hash-object -t tree`: the root tree's id. A folder left empty goes."""
    changes: dict[str, dict[str, Entry | None]] = {folder: {} for folder in trees}
    for path, entry in entries.items():
        folder, _, name = path.rpartition("/")
        changes[folder][name] = entry
    written: dict[str, bytes] = {}
    shas: dict[str, str] = {}
    for folder in trees:  # deepest first
        current = dict(trees[folder])
        for name, entry in changes[folder].items():
            if entry is None:
                current.pop(name, None)
            else:
                current[name] = entry
        if folder and not current:
            changes[folder.rpartition("/")[0]][folder.rpartition("/")[2]] = None
            continue
        raw, sha = _tree(current, object_format)
        written[sha] = raw
        shas[folder] = sha
        if folder:
            changes[folder.rpartition("/")[0]][folder.rpartition("/")[2]] = ("040000", sha)
    with tempfile.TemporaryDirectory(prefix="wave-planner-trees-", dir=git_dir) as temp:
        paths = []
        for i, raw in enumerate(written.values()):
            paths.append(os.path.join(temp, str(i)))
            with open(paths[-1], "wb") as handle:
                handle.write(raw)
        out = run(
            root, "hash-object", "-w", "-t", "tree", "--stdin-paths",
            input=("\n".join(paths) + "\n").encode(), key=_KEY,
        ).decode().split()  # fmt: skip
    if out != list(written):
        raise RuntimeError(f"git wrote the trees {out}, not the computed {list(written)}")
    return shas[""]


def _tree(entries: Mapping[str, Entry], object_format: str) -> tuple[bytes, str]:
    """A tree object's bytes (git's order: a folder sorts as its name and "/") and id."""
    order = sorted(
        entries, key=lambda n: os.fsencode(n) + (b"/" if entries[n][0] == "040000" else b"")
    )
    raw = b"".join(
        entries[name][0].lstrip("0").encode()
        + b" "
        + os.fsencode(name)
        + b"\0"
        + bytes.fromhex(entries[name][1])
        for name in order
    )
    digest = hashlib.new(object_format, b"tree %d\0" % len(raw) + raw).hexdigest()
    return raw, digest
