"""What ``dump2py`` tells the person watching: a bar per model, rows per model.

It observes the Serializer (see ``serializer.DumpObserver``) and counts the
rows of each model as they are read, which gives the summary and the
``--simulate`` report. On a terminal it shows a tqdm progress bar per model.
"""

from tqdm import tqdm

from .serializer import DumpObserver


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
            self._bar.total = block.model._base_manager.using(block.using).count()
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
