"""Checkpoints: written atomically, verified and read with ``weights_only=True``.

A checkpoint is the zip archive ``torch.save`` writes. Every member of that archive carries a CRC-32
of its bytes, but ``torch.load`` never checks it, so a flipped bit in the tensor data loads as a
silently changed weight. :func:`load_checkpoint` therefore runs :meth:`zipfile.ZipFile.testzip`
(which recomputes every member's CRC-32) before unpickling. The CRC is already in the file, so this
needs no change of format, no second file that a crash could separate from the first, and it also
verifies checkpoints written before the check existed; CRC-32 detects every error burst of up to
32 bits and all but a 2^-32 fraction of the others. It guards against accidents (bad disks, partial
copies), not against tampering, which ``weights_only=True`` contains.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path

import torch

__all__ = ["CheckpointError", "check_checkpoint_path", "load_checkpoint", "save_checkpoint"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (unreadable, corrupt, or written by a different run), or a
    checkpoint path that cannot be written; the message names the file."""


# What torch.load and a state restore raise on a damaged or foreign file: torch's reader raises
# RuntimeError, its restricted unpickler UnpicklingError, and the unpickled structure KeyError,
# TypeError, IndexError or AttributeError when it is not what the caller expects.
READ_ERRORS = (RuntimeError, pickle.UnpicklingError, EOFError, KeyError, IndexError, TypeError, AttributeError,
               ValueError, OSError, zipfile.BadZipFile)


def _remove_orphaned_temporaries(path: Path) -> None:
    """Delete the ``.<name>.<random>.tmp`` files of earlier writes of ``path`` that were killed
    (SIGKILL, power loss) before their cleanup ran; each is as large as a checkpoint."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[^.]+\.tmp")
    for entry in path.parent.iterdir():
        if pattern.fullmatch(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)


def _fsync_directory(folder: Path) -> None:
    """Flush ``folder``'s entries to disk so that a rename into it survives a power loss (POSIX;
    skipped where a folder cannot be opened or synced, as on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically.

    The state goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path``, and the folder is flushed: a crash mid-write leaves the previous checkpoint intact,
    never a truncated one. Temporary files left by writers that were killed are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def check_checkpoint_path(path: str | Path) -> None:
    """Raise :class:`CheckpointError` now, before any training, if a checkpoint could not be
    written at ``path`` later: ``path`` is a folder, a folder above it is a file, or the nearest
    existing folder above it is not writable."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CheckpointError(f"cannot write checkpoint {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise CheckpointError(f"cannot write checkpoint {path}: the folder {folder} is not writable")


def _verify_archive(path: Path) -> None:
    """Raise :class:`CheckpointError` unless ``path`` is a zip archive whose every member matches
    its stored CRC-32."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad_member = archive.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
        raise CheckpointError(f"checkpoint {path} is unreadable, not the zip archive torch.save writes "
                              f"(truncated, empty or another kind of file): {err}") from err
    if bad_member is not None:
        raise CheckpointError(f"checkpoint {path} is corrupt: the bytes of {bad_member} do not match their "
                              "CRC-32 (delete it and resume from an earlier copy, or start afresh)")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain containers only).

    Raises ``FileNotFoundError`` when there is no file at ``path``, and :class:`CheckpointError`
    naming ``path`` when it is a folder, is not a torch archive, fails its CRC-32 check, or holds
    anything but tensors and plain containers.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file")
    _verify_archive(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"checkpoint {path} holds objects other than tensors and plain containers, which "
                              f"weights_only loading refuses: {_unsupported_global(err)}") from err
    except READ_ERRORS as err:
        raise CheckpointError(f"checkpoint {path} is unreadable: {type(err).__name__}: "
                              f"{_first_line(err)}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a dict of training state")
    return state


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""


def one_line(err: BaseException, limit: int = 400) -> str:
    """``err``'s message on one line (torch's state-dict errors span several), cut at ``limit`` characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _unsupported_global(err: BaseException) -> str:
    """The line of torch's weights-only refusal that names the blocked object (its first line only
    suggests ``weights_only=False``, which would run that object)."""
    lines = [line.strip() for line in str(err).splitlines()]
    return next((line for line in lines if "unsupported" in line.lower()), _first_line(err))
