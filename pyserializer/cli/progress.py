"""What the person watching a dump or a restore sees on a terminal.

``DumpProgress`` observes the Serializer (see ``dumpoptions.DumpObserver``) and
counts the rows of each model as they are read, which gives ``dump2py``'s
summary and ``--simulate`` report, with a tqdm progress bar per model and,
at ``-v 2``, a line per model written. ``RestoreProgress`` is one bar of the
rows restored out of the manifest's total. A bar is closed, its line ended,
before anything else is printed: the summary, ``migrate``'s lines or an
error never share its line. ``counted`` and ``media_files`` are how every summary counts.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from tqdm import tqdm

from ..dumping.dumpoptions import DumpObserver
from ..dumping.rows import Block
from ..dumping.writer import WrittenChunk
from ..files.manifest import FileEntry, MediaEntry
from ..tables import every_row


class DumpProgress(DumpObserver):
    """Rows per model, a progress bar per model when ``bar_stream`` is given,
    and a line per model written to ``report`` (a function) when it is given.

    Use it as a context manager: a dump stopped by an error leaves the bar
    where it stopped, its line ended, before the error is printed.
    """

    def __init__(
        self, bar_stream: IO[str] | None = None, report: Callable[[str], Any] | None = None,
    ) -> None:
        self.bar_stream = bar_stream
        self.report = report
        self.rows: dict[str, int] = {}
        self.skipped: dict[str, tuple[str, BaseException]] = {}
        self._bar: Any = None

    def __enter__(self) -> "DumpProgress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close_bar()

    def start_block(self, block: Block) -> None:
        self.rows[block.label] = 0
        if self.bar_stream is not None:
            self._bar = tqdm(
                desc=block.label, unit=" rows", file=self.bar_stream, leave=True,
                dynamic_ncols=True,
            )

    def rows_read(self, block: Block, count: int) -> None:
        if self._bar is not None and not self.rows[block.label]:
            # Counted only once the first rows were read: the table is readable.
            self._bar.total = every_row(block.model, block.using).count()
        self.rows[block.label] += count
        if self._bar is not None:
            self._bar.update(count)

    def end_block(self, block: Block, files: Sequence[WrittenChunk]) -> None:
        self._close_bar()
        if self.report is not None:
            self.report(describe_model(block.label, self.rows[block.label], files))

    def block_skipped(self, block: Block, exc: BaseException) -> None:
        self._close_bar()
        del self.rows[block.label]
        self.skipped[block.label] = (block.model._meta.db_table, exc)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def counted(self) -> str:
        """E.g. "4,673 objects of 8 models (and 2 empty models)": the models read so far."""
        with_rows = sum(1 for rows in self.rows.values() if rows)
        return counted(self.total_rows, with_rows, len(self.rows) - with_rows)


def describe_model(label: str, rows: int, files: Sequence[WrittenChunk]) -> str:
    """The ``dump2py -v 2`` line of a model written to ``files`` (WrittenChunks):
    e.g. "shop.order: 3,000 rows in 1 file (94.4 kB), 0.1 seconds"."""
    return "%s: %s in %s (%s), %.1f seconds" % (
        label, _plural(rows, "row"), _plural(len(files), "file"),
        human_size(sum(chunk.size for chunk in files)),
        sum(chunk.seconds for chunk in files))


def counted(objects: int, models: int, empty: int = 0) -> str:
    """E.g. "4,673 objects of 8 models": ``models`` counts the models with at
    least one row, in every summary of a dump, a check or a restore, so that
    they all give the same number for the same dump; ``empty`` more models
    without rows are named apart when there are any."""
    text = "%s of %s" % (_plural(objects, "object"), _plural(models, "model"))
    if empty:
        text += " (and %s)" % _plural(empty, "empty model")
    return text


def chunk_files(count: int, size: int) -> str:
    """E.g. "11 chunk files, 650.3 kB": what every summary says of a dump's
    chunks (restore.py, the manifest, is not counted)."""
    return "%s, %s" % (_plural(count, "chunk file"), human_size(size))


def media_files(count: int, size: int) -> str:
    """E.g. "42 media files (3.1 MB)": what every summary says of a dump's media."""
    return "%s (%s)" % (_plural(count, "media file"), human_size(size))


def counted_media(files: Mapping[str, MediaEntry]) -> str:
    """``media_files`` for the media files a manifest lists, each once
    (``Manifest.media_files``)."""
    return media_files(len(files), sum(entry.size for entry in files.values()))


def counted_files(files: Sequence[FileEntry]) -> str:
    """``counted`` for the chunk files a manifest lists (``FileEntry``): what
    dump2py said of the same rows."""
    with_rows = {entry.model for entry in files if entry.rows}
    empty = {entry.model for entry in files} - with_rows
    return counted(sum(entry.rows for entry in files), len(with_rows), len(empty))


def _plural(count: int, noun: str) -> str:
    return "{:,} {}{}".format(count, noun, "" if count == 1 else "s")


class RestoreProgress:
    """A bar of the rows restored out of ``total``, when ``bar_stream`` is given;
    without it, the calls do nothing, so that a load need not ask.

    The bar appears with the first row loaded, and ``finished`` closes it at
    its total once the rows are loaded, before the restore says anything
    else. Used as a context manager, it also closes a bar that an error
    stopped, its line ended, before the error is printed.
    """

    # Updating the bar for every row would cost more than the row itself.
    EVERY = 500

    def __init__(self, total: int, bar_stream: IO[str] | None = None) -> None:
        self.total = total
        self.bar_stream = bar_stream
        self._bar: Any = None
        self._shown = 0

    def loaded(self, count: int) -> None:
        """``count`` rows are loaded so far."""
        if self.bar_stream is None:
            return
        if self._bar is None:
            self._bar = tqdm(
                total=self.total, desc="Restoring", unit=" rows", unit_scale=True,
                file=self.bar_stream, leave=True, dynamic_ncols=True,
            )
        if count - self._shown >= self.EVERY:
            self._bar.update(count - self._shown)
            self._shown = count

    def finished(self, count: int) -> None:
        """All ``count`` rows are loaded: show the bar full and close it. Rows
        the load did not count (of models left out or ignored) are not waited for."""
        if self._bar is None:
            return
        self._bar.update(count - self._shown)
        self._shown = count
        if self._bar.total != count:
            self._bar.total = count
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "RestoreProgress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()


def bar_stream(stream: Any, verbosity: int) -> Any:
    """``stream`` when progress bars belong there (a terminal, verbosity 1 or
    more), else None: a log file or a pipe gets no bars."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return stream if terminal and verbosity >= 1 else None


def human_size(size: float) -> str:  # type: ignore[return]  # the loop ends by returning
    """E.g. "812 bytes", "48.1 kB", "3.2 MB": sizes as a summary line gives them."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (size, unit)
        size /= 1000
