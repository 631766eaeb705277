"""Read opened exports and split their chunks by the import's rules, for an import to write as they come.

:func:`read_sources` feeds every chunk of every export through
:func:`kayfabe_core.ingest_rows.split_chunk` and checks each file (it has rows, one
of them a post link). :func:`split_sources` does it for an import that writes each
chunk as it comes: in this process, or, when the files are large and read from
disk, in ONE worker process, so that reading and splitting the next chunk overlaps
with writing this one. The worker keeps the :class:`RowState`; it sends each
chunk's parts with the images counted so far for the chunk's posts, and at the end
the files' reports and the state without its ``seen`` set, through a pipe whose
other end only this process holds (so a worker that dies is noticed, not waited
for). Memory is bounded: besides the chunk being written and the one being split,
one chunk is on its way and at most :data:`QUEUED_CHUNKS` wait in the worker.

An error in the worker (a damaged file) reaches the caller as the same exception,
after the chunks before it, so the caller's transaction rolls back. The worker
ends with the call: when it returns or raises, on Ctrl-C, and when the importing
process is killed (:func:`kayfabe_core.worker_guard.watch_parent`).
"""

from __future__ import annotations

import builtins
import marshal
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from kayfabe_core.errors import InputFileError, KayfabeError, SettingError, WorkspaceError
from kayfabe_core.ingest_rows import ChunkParts, RowState, split_chunk
from kayfabe_core.ingest_stream import ExportSource, read_chunks
from kayfabe_core.worker_guard import watch_parent

# Files on disk smaller than this together are split in the importing process: starting the worker (0.4 s) and
# waiting for its first chunk cost what the overlap saves at 78 MB (100,000 posts, 2.4 s either way); at 212 MB
# the worker saved 1.0 s of 5.9, at 780 MB 6 s of 26.
WORKER_MIN_BYTES = 128 << 20
QUEUED_CHUNKS = 1  # split chunks waiting in the worker while it sends one and the importing process writes one
STOP_WAIT_S = 5.0  # how long a stopped worker is given to end before it is killed

AddCounted = Callable[[ChunkParts, list[int]], None]
"""Takes a chunk's parts and the images counted so far for each of its posts."""

_CHUNK, _END, _ERROR = 0, 1, 2  # what a message from the worker holds
_STATE_SENT = tuple(item.name for item in fields(RowState) if item.name != "seen")  # all the writer needs


class ReaderStopped(KayfabeError, ChildProcessError):
    """The worker reading the files ended before the end of them (killed, or out of memory)."""


@dataclass(frozen=True)
class FileReport:
    """How one file was read."""

    name: str
    rows: int
    encoding: str
    delimiter: str
    notes: tuple[str, ...] = ()


def read_sources(sources: Sequence[ExportSource], state: RowState, add: Callable[[ChunkParts], None],
                 chunk_rows: int) -> tuple[FileReport, ...]:
    """Feed every chunk of every source through the rules into ``add``; return how each file was read.

    Raises :class:`InputFileError` when a file has no row, no row with a post link, or a damaged row.
    """
    reports = []
    for source in sources:
        rows, linked, unlinked = 0, state.linked_rows, state.rows_without_post_url
        for chunk in read_chunks(source, chunk_rows):
            rows += len(chunk)
            add(split_chunk(chunk, state))
        if rows == 0:
            raise InputFileError(f"{source.name} has column names but no rows: there is no post in it. Nothing "
                                 "was imported.", "Export the posts again from PhantomBuster (an export stopped "
                                 "before its first post holds only the header), or leave this file out.")
        if state.linked_rows == linked and state.rows_without_post_url > unlinked:
            raise InputFileError(f"No row of {source.name} has a post link (a postUrl starting with https://), so "
                                 "nothing was imported.", "Check that this is a PhantomBuster export of Instagram "
                                 "posts: its postUrl column holds links like https://www.instagram.com/p/….")
        text = source.text
        reports.append(FileReport(source.name, rows, text.encoding, text.delimiter, text.notes))
    return tuple(reports)


def image_counts(parts: ChunkParts, state: RowState) -> list[int]:
    """The images counted so far for each post of the chunk just split with ``state``: all of them, unless a
    later chunk brings more."""
    positions = state.positions
    return [positions[url] for url in parts.posts["post_url"]]


def split_sources(sources: Sequence[ExportSource], chunk_rows: int,
                  add: AddCounted) -> tuple[tuple[FileReport, ...], RowState]:
    """Split every chunk of every source into ``add``, here or in a worker process (files on disk of
    :data:`WORKER_MIN_BYTES` or more together).

    Returns how each file was read and the final :class:`RowState` (from a worker, its ``seen`` set empty).
    Raises what :func:`read_sources` raises; :class:`ReaderStopped` when the worker stopped before the end.
    """
    if _bytes_on_disk(sources) < WORKER_MIN_BYTES:
        state = RowState()
        return read_sources(sources, state, lambda parts: add(parts, image_counts(parts, state)), chunk_rows), state
    return _split_in_worker(sources, chunk_rows, add)


def _bytes_on_disk(sources: Sequence[ExportSource]) -> int:
    """The files' size together; -1 when one of them was decoded in memory (those are split here)."""
    paths = [source.path for source in sources if source.path is not None]
    try:
        return sum(path.stat().st_size for path in paths) if len(paths) == len(sources) else -1
    except OSError:  # gone since it was opened: read_chunks says so, here
        return -1


def _split_in_worker(sources: Sequence[ExportSource], chunk_rows: int,
                     add: AddCounted) -> tuple[tuple[FileReport, ...], RowState]:
    context = get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_work, args=(sources, chunk_rows, sender, os.getpid()), daemon=True,
                             name="kayfabe ingest reader")
    try:
        worker.start()
        sender.close()  # the worker's end only: a worker that dies makes receiving fail instead of wait
        while (message := _receive(receiver, worker))[0] == _CHUNK:
            _, posts, images, imageless, n_images = message
            add(ChunkParts(posts, images, imageless), n_images)
        if message[0] == _ERROR:
            raise _raised(*message[1:])
        _, files, state = message
        return tuple(FileReport(**file) for file in files), RowState(**state)
    finally:
        sender.close()
        receiver.close()
        _stop(worker)


def _receive(receiver: Connection, worker: BaseProcess) -> tuple[Any, ...]:
    """The worker's next message, in :mod:`marshal`'s format: a tuple led by what it holds."""
    try:
        message: tuple[Any, ...] = marshal.loads(receiver.recv_bytes())
    except EOFError:
        worker.join(STOP_WAIT_S)
        raise ReaderStopped(f"The process reading the files stopped before the end (exit code "
                            f"{worker.exitcode}); nothing was imported.",
                            "This happens when the computer runs short of memory or the process is ended from "
                            "outside. Close other programs and import again.") from None
    return message


def _stop(worker: BaseProcess) -> None:
    """End the worker if it still runs (after an error here, Ctrl-C, or freeing its memory after the end)."""
    if worker.is_alive():
        worker.terminate()
        worker.join(STOP_WAIT_S)
    if worker.is_alive():
        worker.kill()
    if worker.pid is not None:
        worker.join()


def _work(sources: Sequence[ExportSource], chunk_rows: int, sender: Connection, parent: int) -> None:
    """The worker: split every chunk and send it with its posts' image counts, then the end or the error.

    Messages are plain data in :mod:`marshal`'s format (the same Python at both ends), which writes a
    chunk's columns of strings in a third of the time pickle takes (15 ms a chunk of 50,000 rows instead
    of 50: a second of a million-post import, in the process that sets the pace). A thread sends them, so
    splitting goes on while the importing process is still writing the chunk before; at most
    :data:`QUEUED_CHUNKS` wait for it."""
    watch_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the importing process, which stops this one
    outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
    mailer = threading.Thread(target=_send_all, args=(outbox, sender), daemon=True)
    mailer.start()

    def send(parts: ChunkParts) -> None:
        outbox.put(marshal.dumps((_CHUNK, parts.posts, parts.images, parts.imageless, image_counts(parts, state))))

    state = RowState()
    try:
        files = read_sources(sources, state, send, chunk_rows)
    except Exception as error:  # every error goes to the importing process, which raises it
        outbox.put(marshal.dumps((_ERROR, *_described(error))))
    else:
        kept = {name: getattr(state, name) for name in _STATE_SENT}
        outbox.put(marshal.dumps((_END, [vars(file) for file in files], kept)))
    outbox.put(None)
    mailer.join()
    sender.close()


def _send_all(outbox: queue.Queue[bytes | None], sender: Connection) -> None:
    """Send the messages put in ``outbox`` until None comes; end the worker at once when nobody reads them."""
    try:
        while (message := outbox.get()) is not None:
            sender.send_bytes(message)
    except OSError:  # the importing process is gone, or stopped the import and closed its end
        os._exit(1)


_USER_ERRORS = {kind.__name__: kind for kind in (InputFileError, WorkspaceError, SettingError, KayfabeError)}


def _described(error: Exception) -> tuple[bool, str, str, str]:
    """The error as plain data: (for users, its class's name, its message, its hint or else the worker's
    traceback). Nothing is pickled: the importing process makes the error again (:func:`_raised`)."""
    if isinstance(error, KayfabeError):
        return True, type(error).__name__, error.message, error.hint
    return False, type(error).__name__, str(error), "In the process reading the files:\n" + traceback.format_exc()


def _raised(for_users: bool, name: str, message: str, hint_or_trace: str) -> Exception:
    """The worker's error (:func:`_described`) made again: an error for users with its message and hint; a bug
    as the built-in exception it was (a RuntimeError naming it otherwise), with the worker's traceback as a
    note."""
    if for_users:
        return _USER_ERRORS.get(name, KayfabeError)(message, hint_or_trace)
    kind = getattr(builtins, name, None)
    try:
        error = kind(message) if isinstance(kind, type) and issubclass(kind, Exception) else None
    except Exception:  # a built-in that needs more than a message (UnicodeDecodeError, say)
        error = None
    error = error or RuntimeError(f"The process reading the files failed: {name}: {message}")
    error.add_note(hint_or_trace)
    return error
