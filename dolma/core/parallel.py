"""Dolma's ``BaseParallelProcessor`` (``dolma.core.parallel``), for code written against Dolma: subclass it, implement
``process_single(source_path, destination_path, queue, **kwargs)``, and call the instance to process every file
under ``source_prefix`` into the mirrored path under ``destination_prefix``.

A file is done when ``<metadata_prefix>/<rel>.done.txt`` exists; done files are skipped unless ``ignore_existing``.
Our own stages use :mod:`dolma.core.units` instead (atomic outputs, manifests, retries, Ray); this is the small
contract Dolma's processors expect, run in this process (``num_processes`` 1) or in a process pool.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Dict, List, Optional, Tuple, Union

from dolma.core.globs import has_glob, static_prefix
from dolma.core.paths import glob_paths, is_local, join

__all__ = ["BaseParallelProcessor", "QueueType"]

QueueType = Union["queue_module.Queue[Any]", Any]  # a queue of progress tuples; a Manager queue across processes


class BaseParallelProcessor:
    def __init__(
        self,
        source_prefix: Union[str, List[str]],
        destination_prefix: Union[str, List[str]],
        metadata_prefix: Union[str, List[str]],
        num_processes: int = 1,
        debug: bool = False,
        seed: int = 0,
        pbar_timeout: float = 1e-3,
        ignore_existing: bool = False,
        include_paths: Optional[List[str]] = None,
        exclude_paths: Optional[List[str]] = None,
        files_regex_pattern: Optional[str] = None,
        retries_on_error: int = 0,
        process_single_kwargs: Union[None, Dict[str, Any], List[Dict[str, Any]]] = None,
    ) -> None:
        self.src_prefixes = [source_prefix] if isinstance(source_prefix, str) else list(source_prefix)
        self.dst_prefixes = [destination_prefix] if isinstance(destination_prefix, str) else list(destination_prefix)
        self.meta_prefixes = [metadata_prefix] if isinstance(metadata_prefix, str) else list(metadata_prefix)
        if not self.src_prefixes:
            raise ValueError("at least one source prefix is needed")
        if not (len(self.src_prefixes) == len(self.dst_prefixes) == len(self.meta_prefixes)):
            raise ValueError("source, destination and metadata prefixes must be as many")
        self.num_processes = 1 if debug else max(1, num_processes)
        self.ignore_existing = ignore_existing
        self.include_paths = set(include_paths) if include_paths else None
        self.exclude_paths = set(exclude_paths or [])
        kwargs = process_single_kwargs or {}
        self.process_single_kwargs = kwargs if isinstance(kwargs, list) else [kwargs] * len(self.src_prefixes)

    @classmethod
    def process_single(cls, source_path: str, destination_path: str, queue: QueueType, **kwargs: Any) -> None:
        raise NotImplementedError(f"{cls.__name__} must implement process_single()")

    @classmethod
    def increment_progressbar(cls, queue: QueueType, /, **kwargs: int) -> Dict[str, int]:
        """Report progress counts from ``process_single`` (Dolma subclasses name them as keyword arguments)."""
        queue.put(tuple(kwargs.values()))
        return kwargs

    def _plan(self) -> List[Tuple[str, str, str, Dict[str, Any]]]:
        todo = []
        prefixes = zip(self.src_prefixes, self.dst_prefixes, self.meta_prefixes, self.process_single_kwargs)
        for src, dst, meta, kwargs in prefixes:
            root = static_prefix(src) if has_glob(src) else src.rstrip("/") + "/"
            for path in glob_paths(src):
                rel = path[len(root) :] if path.startswith(root) else os.path.basename(path)
                if os.path.basename(path).startswith(".") or path in self.exclude_paths:
                    continue
                if self.include_paths is not None and path not in self.include_paths:
                    continue
                done = join(meta, rel) + ".done.txt"
                if not self.ignore_existing and is_local(done) and os.path.exists(done):
                    continue
                todo.append((path, join(dst, rel), done, kwargs))
        return todo

    def __call__(self, **process_single_kwargs: Any) -> None:
        todo = self._plan()
        for _, dst, done, _ in todo:
            for target in (dst, done):
                if is_local(target):
                    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        if self.num_processes == 1:
            progress: "queue_module.Queue[Any]" = queue_module.Queue()
            for src, dst, done, kwargs in todo:
                self._run_one(src, dst, done, progress, {**kwargs, **process_single_kwargs})
            return
        with multiprocessing.Manager() as manager, ProcessPoolExecutor(self.num_processes) as pool:
            shared = manager.Queue()
            futures = [
                pool.submit(self._run_one, src, dst, done, shared, {**kwargs, **process_single_kwargs})
                for src, dst, done, kwargs in todo
            ]
            for future in futures:
                future.result()

    @classmethod
    def _run_one(cls, src: str, dst: str, done: str, queue: QueueType, kwargs: Dict[str, Any]) -> None:
        cls.process_single(src, dst, queue, **kwargs)
        if is_local(done):
            with open(done, "w", encoding="utf-8") as f:
                f.write("")
        else:
            from dolma.core import s3  # only users of s3:// need boto3 loaded

            s3.put_bytes(done, b"")
