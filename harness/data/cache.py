"""On-disk cache of computed features and generated corpora.

Entries are keyed by what they were computed from (a hash of the source
files or generation parameters, plus every parameter of the computation),
so a changed input or parameter can never be served stale data.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

# Bump when the way features or corpora are computed changes.
CACHE_VERSION = 1


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """`override`, else $HARNESS_CACHE_DIR, else ~/.cache/kp-harness."""
    if override is not None:
        root = Path(override)
    elif os.environ.get("HARNESS_CACHE_DIR"):
        root = Path(os.environ["HARNESS_CACHE_DIR"])
    else:
        root = Path.home() / ".cache" / "kp-harness"
    root = root.expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create cache directory {root} ({exc.strerror}); "
                         "set HARNESS_CACHE_DIR to a writable folder") from None
    return root


def key_of(obj: Any) -> str:
    """Stable hash of a JSON-able description of a computation."""
    text = json.dumps({"v": CACHE_VERSION, "k": obj}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write an .npz so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None when it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        # A corrupt entry is recomputed, not fatal.
        return None


def hash_files(root: Path, rel_paths: Iterable[str], cache: Path | None = None) -> str:
    """sha256 over the names and bytes of files under `root`.

    Hashing a large corpus reads every byte, so the result is memoised in the
    cache under a fingerprint of (name, size, mtime) of each file: unchanged
    files are not read twice.
    """
    rel = sorted(rel_paths)
    fp = hashlib.sha256()
    stats = []
    for r in rel:
        st = (root / r).stat()
        stats.append((r, st.st_size, st.st_mtime_ns))
    fp.update(json.dumps([str(root.resolve()), stats]).encode())
    memo = (cache / "file-hashes" / f"{fp.hexdigest()}.txt") if cache is not None else None
    if memo is not None and memo.is_file():
        text = memo.read_text().strip()
        if len(text) == 64:
            return text
    h = hashlib.sha256()
    for r in rel:
        h.update(r.encode() + b"\0")
        h.update(hashlib.sha256((root / r).read_bytes()).digest())
    digest = h.hexdigest()
    if memo is not None:
        atomic_write_bytes(memo, digest.encode())
    return digest
