"""What the person watching a dump or a restore sees on a terminal.

``DumpProgress`` observes the Serializer (see ``serializer.DumpObserver``) and
counts the rows of each model as they are read, which gives ``dump2py``'s
summary and ``--simulate`` report, with a tqdm progress bar per model.
``RestoreProgress`` is one bar of the rows restored out of the manifest's total.
"""

from tqdm import tqdm

from .serializer import DumpObserver
from .tables import every_row


class DumpProgress(DumpObserver):
    """Rows per model, and a progress bar per model when ``bar_stream`` is given."""

    def __init__(self, bar_stream=None):
        self.bar_stream = bar_stream
        self.rows = {}
        self.skipped = {}
        self.current = None
        self._bar = None

    def start_block(self, block):
        self.current = block
        self.rows[block.label] = 0
        if self.bar_stream is not None:
            self._bar = tqdm(
                desc=block.label, unit=" rows", file=self.bar_stream, leave=True,
                dynamic_ncols=True,
            )

    def rows_read(self, block, count):
        if self._bar is not None and not self.rows[block.label]:
            # Counted only once the first rows were read: the table is readable.
            self._bar.total = every_row(block.model, block.using).count()
        self.rows[block.label] += count
        if self._bar is not None:
            self._bar.update(count)

    def end_block(self, block):
        self._close_bar()
        self.current = None

    def block_skipped(self, block, exc):
        self._close_bar()
        del self.rows[block.label]
        self.skipped[block.label] = (block.model._meta.db_table, exc)
        self.current = None

    def _close_bar(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def models_with_rows(self):
        return sum(1 for rows in self.rows.values() if rows)

    @property
    def total_rows(self):
        return sum(self.rows.values())


class RestoreProgress:
    """A bar of the rows restored out of ``total``, when ``bar_stream`` is given."""

    # Updating the bar for every row would cost more than the row itself.
    EVERY = 500

    def __init__(self, total, bar_stream=None):
        self._bar = None if bar_stream is None else tqdm(
            total=total, desc="Restoring", unit=" rows", unit_scale=True,
            file=bar_stream, leave=False, dynamic_ncols=True,
        )
        self._shown = 0

    def loaded(self, count):
        """``count`` rows are loaded so far."""
        if count - self._shown >= self.EVERY:
            self._bar.update(count - self._shown)
            self._shown = count

    def __enter__(self):
        """Itself, or None without a bar: a load then has nothing to tell per row."""
        return self if self._bar is not None else None

    def __exit__(self, *exc_info):
        if self._bar is not None:
            self._bar.close()


def bar_stream(stream, verbosity):
    """``stream`` when progress bars belong there (a terminal, verbosity 1 or
    more), else None: a log file or a pipe gets no bars."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return stream if terminal and verbosity >= 1 else None


def human_size(size):
    """E.g. "812 bytes", "48.1 kB", "3.2 MB": sizes as a summary line gives them."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (size, unit)
        size /= 1000
