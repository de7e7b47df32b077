"""Several file writes that succeed or fail together.

Each new file is first written to a temporary file next to its target. On
commit the temporary files replace their targets with ``os.replace`` (atomic
on one file system). A target that already existed is moved aside first, so
a failure during commit, or in the check after it, restores every target as
it was.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass
class _Write:
    target: Path
    temporary: Path
    backup: Path | None = None
    done: bool = False


@dataclass
class StagedWrites:
    """Files written to temporary names and put in place together by :meth:`commit`."""

    _writes: list[_Write] = field(default_factory=list)
    _created_dirs: list[Path] = field(default_factory=list)

    def temporary_path(self, target: Path) -> Path:
        """Return a new temporary file next to ``target`` for the caller to write.

        The temporary name keeps the suffix of ``target``, because GDAL picks
        its driver from the suffix.
        """
        target = Path(target)
        self._make_dirs(target.parent)
        handle, name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
        )
        os.close(handle)
        temporary = Path(name)
        # GDAL refuses to create a GeoPackage over an existing (empty) file.
        temporary.unlink()
        self._writes.append(_Write(target=target, temporary=temporary))
        return temporary

    def write_text(self, target: Path, text: str) -> None:
        """Stage ``text`` as the new content of ``target`` (UTF-8)."""
        temporary = self.temporary_path(target)
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())

    def commit(self, check: Callable[[], None] | None = None) -> None:
        """Put every staged file in place, then run ``check``.

        If a replace or ``check`` raises, every target is restored to its
        previous content (or removed if it did not exist) and the error is
        raised again.

        NOTE: each file is replaced atomically, but the set is not. A process
        killed during commit can leave some targets new and ``*.old`` backups.
        """
        try:
            for write in self._writes:
                if not write.temporary.exists():
                    raise FileNotFoundError(
                        f"staged file {write.temporary} for {write.target} "
                        "was not written"
                    )
            for write in self._writes:
                if write.target.exists():
                    write.backup = write.temporary.with_name(
                        write.temporary.name + ".old"
                    )
                    os.replace(write.target, write.backup)
                os.replace(write.temporary, write.target)
                write.done = True
            if check is not None:
                check()
        except BaseException:
            self._roll_back()
            raise
        for write in self._writes:
            if write.backup is not None:
                write.backup.unlink(missing_ok=True)
        self._writes.clear()
        self._created_dirs.clear()

    def discard(self) -> None:
        """Remove the temporary files of a transaction that will not be committed."""
        self._roll_back()

    def _roll_back(self) -> None:
        for write in reversed(self._writes):
            try:
                if write.done:
                    write.target.unlink(missing_ok=True)
                if write.backup is not None and write.backup.exists():
                    os.replace(write.backup, write.target)
                write.temporary.unlink(missing_ok=True)
            except OSError:
                logger.exception(
                    "could not restore %s while rolling back", write.target
                )
        for folder in reversed(self._created_dirs):
            try:
                folder.rmdir()
            except OSError:
                logger.debug("kept folder %s: not empty", folder)
        self._writes.clear()
        self._created_dirs.clear()

    def _make_dirs(self, folder: Path) -> None:
        missing = []
        current = folder
        while not current.exists():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            path.mkdir()
            self._created_dirs.append(path)
