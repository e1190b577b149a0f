"""The files one work unit writes, published all together or not at all, then described by manifests.

Every stage's unit goes through the same steps: open its output files, open a quarantine file on the first bad
line, publish everything when the unit succeeds or nothing when it fails, and then write a manifest beside each
output. :class:`UnitOutputs` does these steps; a stage only says which paths it writes and what goes in them::

    with UnitOutputs("tag", resolved_config, quarantine=out + QUARANTINE_SUFFIX) as files:
        target = files.open(out)
        for batch in reader:
            target.write(...)
            files.quarantine(reader.path, bad_lines)   # the quarantine file is created on first use
    files.write_manifest(manifest_path(out), config, [input_entry(reader)], [out], counts)

Leaving the ``with`` block normally commits the files still open, in the order they were opened, the quarantine
file last. Leaving it by any exception (``KeyboardInterrupt`` too) aborts them (temporary files and S3 uploads go
away), removes the files the unit had already published with :meth:`UnitOutputs.commit` (finished parts of a
unit that writes several), and re-raises; a commit that fails half-way is handled the same way. Manifests are
written only after that, with the entries (size and sha256) of the committed files.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from dolma.core import io as dio
from dolma.core import manifest as mf
from dolma.core.manifest import FileEntry
from dolma.core.records import BadLine, DocumentsReader, QuarantineLine, encode_lines, quarantine_lines

__all__ = ["UnitOutputs", "input_entry"]


def input_entry(reader: DocumentsReader) -> FileEntry:
    """A manifest's entry for a file read to its end: its path, stored size and sha256."""
    return FileEntry(reader.path, reader.stored_bytes, reader.sha256)


class UnitOutputs:
    """The output files of one work unit (see the module's description).

    ``stage`` and ``resolved_config`` (the whole command config) go into every manifest; ``quarantine`` is where
    bad lines go, if any; ``started`` (a :func:`time.monotonic` value, by default now) is when the unit started,
    for the manifests' ``seconds``.
    """

    def __init__(
        self, stage: str, resolved_config: Any, quarantine: Optional[str] = None, started: Optional[float] = None
    ) -> None:
        self.stage = stage
        self.resolved_config = resolved_config
        self.quarantine_path = quarantine
        self.started = time.monotonic() if started is None else started
        self.seconds = 0.0  # from `started` until every file was committed
        self._open: Dict[str, dio.AtomicWriter] = {}
        self._published: Dict[str, FileEntry] = {}
        self._quarantine: Optional[dio.AtomicWriter] = None
        self._state = "open"  # then "committed" or "aborted"

    # --- while the unit runs ------------------------------------------------------------------------------

    def open(self, path: str) -> dio.AtomicWriter:
        """The writer of ``path``, opened on the first call (a unit may write any number of files)."""
        self._check_open()
        writer = self._open.get(path)
        if writer is None:
            if path in self._published:
                raise ValueError(f"{path} is already committed")
            writer = self._open[path] = dio.AtomicWriter(path)
        return writer

    def commit(self, path: str) -> FileEntry:
        """Publish ``path`` now (a finished part, when a unit writes several in turn); it is removed again if the
        unit fails later. Returns its entry."""
        self._check_open()
        writer = self._open.pop(path)
        writer.commit()  # a writer that fails to commit has aborted itself
        entry = self._published[path] = FileEntry(path, writer.bytes_written, writer.sha256 or "")
        return entry

    def quarantine(self, file: str, bad: Sequence[BadLine]) -> None:
        """Append bad lines of input ``file`` to the quarantine file, which is created by the first call that has
        any (a unit without bad lines leaves none)."""
        if bad:
            self._quarantine_writer().write(quarantine_lines(file, list(bad)))

    def quarantine_records(self, lines: Sequence[QuarantineLine]) -> None:
        """Like :meth:`quarantine`, for lines already described (records refused by a stage's own checks)."""
        if lines:
            self._quarantine_writer().write(encode_lines(list(lines)))

    def _quarantine_writer(self) -> dio.AtomicWriter:
        self._check_open()
        if self.quarantine_path is None:
            raise ValueError(f"{self.stage}: this unit has no quarantine file")
        if self._quarantine is None:
            self._quarantine = dio.AtomicWriter(self.quarantine_path)
        return self._quarantine

    def _check_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"the unit's files are already {self._state}")

    # --- the end of the unit ------------------------------------------------------------------------------

    def __enter__(self) -> "UnitOutputs":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self._commit_all()
        else:
            self._abort_all()

    def _commit_all(self) -> None:
        try:
            for path in list(self._open):
                self.commit(path)
            if self._quarantine is not None:
                self._quarantine.commit()
        except BaseException:
            self._abort_all()
            raise
        self._state = "committed"
        self.seconds = time.monotonic() - self.started

    def _abort_all(self) -> None:
        """Abort every open file and remove the published ones; every step is tried, the first error raised."""
        self._state = "aborted"
        steps: List[Callable[[], None]] = [w.abort for w in self._open.values()]
        if self._quarantine is not None:
            steps.append(self._quarantine.abort)
        steps += [functools.partial(dio.remove, path) for path in self._published]
        self._open.clear()
        self._published.clear()
        error: Optional[BaseException] = None
        for step in steps:
            try:
                step()
            except BaseException as exc:  # clean up the rest before raising
                error = error or exc
        if error is not None:
            raise error

    # --- after a successful unit --------------------------------------------------------------------------

    def entry(self, path: str) -> FileEntry:
        """The entry (path, size, sha256) of a committed file."""
        return self._published[path]

    @property
    def quarantine_entry(self) -> Optional[FileEntry]:
        """The quarantine file's entry once committed; ``None`` when the unit had no bad lines."""
        return mf.written(self._quarantine) if self._state == "committed" else None

    def write_manifest(
        self,
        path: str,
        config: Dict[str, Any],
        inputs: List[FileEntry],
        outputs: Sequence[str],
        counts: Dict[str, int],
        quarantine: bool = True,
    ) -> None:
        """Write the manifest at ``path`` (after the ``with`` block): ``config`` is what determines the outputs
        (hashed), ``outputs`` are committed paths of this unit, in the order the manifest lists them, and
        ``quarantine`` says whether it names the quarantine file (when a unit writes several manifests, one may)."""
        if self._state != "committed":
            raise RuntimeError("manifests are written after the unit's files are committed")
        manifest = mf.new_manifest(
            self.stage,
            config,
            inputs,
            [self.entry(p) for p in outputs],
            counts,
            self.seconds,
            self.resolved_config,
            quarantine=self.quarantine_entry if quarantine else None,
        )
        mf.write_manifest(path, manifest)
