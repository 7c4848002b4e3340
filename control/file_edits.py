"""Writing other tools' files so that the write can be shown first and taken back.

A `FileChange` is one file's content before and after. `diff` shows it as a unified
diff (secrets masked). `apply` writes atomically (a temporary file in the same folder,
then a rename: a reader sees the old file or the new, never half of one), keeps the
file's mode (0600 for a file that holds the token), and keeps a backup of what was
there before in a record of its own, mode 0600 in argo-proxy's private state folder.
`undo` puts back each file that still holds what was written, byte for byte, and
removes a file that did not exist before; a file the user changed since is theirs,
and is left alone.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FileChange",
    "UndoResult",
    "apply",
    "diff",
    "has_record",
    "read_text",
    "undo",
    "write_atomic",
]

PRIVATE = 0o600


@dataclass(frozen=True)
class FileChange:
    """One file to write: what it holds now (None: missing) and what it will hold."""

    path: Path
    before: str | None
    after: str
    private: bool = False  # it holds a secret: written 0600 whatever its mode was

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def diff(change: FileChange, mask: Callable[[str], str] = lambda line: line) -> str:
    """A unified diff of the change (`mask` hides secrets); "" when nothing changes."""
    if not change.changed:
        return ""
    old = (change.before or "").splitlines(keepends=True)
    new = change.after.splitlines(keepends=True)
    lines = difflib.unified_diff(
        [mask(line) for line in old],
        [mask(line) for line in new],
        fromfile="/dev/null" if change.before is None else str(change.path),
        tofile=str(change.path),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def read_text(path: Path) -> str | None:
    """The file's text, None when it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` to `path` through a temporary file and a rename, so that a reader
    sees the old file or the new, never half of one. The file keeps its mode (a new one
    gets 0644 less the umask), unless `mode` is given; a symbolic link (dotfiles kept in
    a repository) keeps its link, and the file it points to is written."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o644 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".argo-proxy", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            os.fchmod(out.fileno(), mode)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass
class _Record:
    """What `apply` wrote for one tool: each file's content before the first write
    (None: it did not exist) and its mode then, and a hash of what was written last."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, record: Path) -> _Record | None:
        text = read_text(record)
        if text is None:
            return None
        try:
            data = json.loads(text)
            return cls(dict(data["files"]))
        except (ValueError, KeyError, TypeError):
            return None

    def save(self, record: Path) -> None:
        payload = {"at": time.time(), "files": self.files}
        write_atomic(record, json.dumps(payload, indent=2) + "\n", PRIVATE)

    def holds_written(self, path: str) -> bool:
        entry = self.files.get(path)
        now = read_text(Path(path))
        return entry is not None and now is not None and _hash(now) == entry["written"]


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def has_record(record: Path) -> bool:
    return _Record.load(record) is not None


def changed_since(record: Path) -> list[Path]:
    """The recorded files that no longer hold what was last written: the user's now,
    left alone by undo (and by the editor extension when it follows a new port)."""
    kept = _Record.load(record)
    if kept is None:
        return []
    return [Path(name) for name in kept.files if not kept.holds_written(name)]


def apply(changes: Sequence[FileChange], record: Path) -> list[Path]:
    """Write the changes that change something; note them in `record` (mode 0600: it
    holds the files' old content). A file written before keeps its first backup, so
    that undo goes back to before argo-proxy ever touched it. Returns what it wrote."""
    kept = _Record.load(record) or _Record()
    written: list[Path] = []
    for change in changes:
        if not change.changed:
            continue
        key = str(change.path)
        first = kept.files.get(key) or {"before": change.before, "mode": _mode(change.path)}
        kept.files[key] = {**first, "written": _hash(change.after)}
        kept.save(record)  # the backup first: a crash after it can still be undone
        write_atomic(change.path, change.after, PRIVATE if change.private else None)
        written.append(change.path)
    return written


@dataclass(frozen=True)
class UndoResult:
    restored: list[Path]
    removed: list[Path]
    kept: list[Path]  # changed since they were written: left as they are


def undo(record: Path) -> UndoResult | None:
    """Put back every recorded file that still holds what was written; remove the
    record. None when there is nothing to undo."""
    kept_record = _Record.load(record)
    if kept_record is None:
        return None
    restored: list[Path] = []
    removed: list[Path] = []
    kept: list[Path] = []
    for name, entry in kept_record.files.items():
        path = Path(name)
        if not kept_record.holds_written(name):
            kept.append(path)
        elif entry["before"] is None:
            path.unlink()
            removed.append(path)
        else:
            write_atomic(path, entry["before"], entry.get("mode"))
            restored.append(path)
    record.unlink()
    return UndoResult(restored, removed, kept)
