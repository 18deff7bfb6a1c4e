"""What a dump is told, worked out once: ``DumpOptions``.

``dump2py`` builds the options from its arguments; Django's
``serializers.serialize("py", ...)`` and ``dumpdata`` pass their usual
keyword options, from which the Serializer builds them. The settings
(PYSERIALIZER_MAX_ROW_COUNT, PYSERIALIZER_COMPRESS, PYSERIALIZER_MEDIA) and
the defaults are read
here and nowhere else, so that a command and the Serializer it drives never
disagree about the rows per chunk file or the compression.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from django.conf import settings

from ..errors import DumpError, DumpWriteError
from ..files.compression import check_available

if TYPE_CHECKING:
    from .rows import Block
    from .writer import ChunkWriter, WrittenChunk

DEFAULT_MAX_ROW_COUNT = 50000


class DumpObserver:
    """What a dump tells its observer (``dump2py``: progress bars, savepoints).

    ``start_block`` comes before a model's first row is read, ``rows_read``
    after each batch is encoded, ``end_block`` once its rows are all written,
    with the chunk files they went to (``writer.WrittenChunk``; none when the
    dump is one file or nothing is written); a model skipped through
    ``on_block_error`` gets no ``end_block``.
    """

    def start_block(self, block: "Block") -> None:
        pass

    def rows_read(self, block: "Block", count: int) -> None:
        pass

    def end_block(self, block: "Block", files: "list[WrittenChunk]") -> None:
        pass


class UnusableOption(DumpWriteError):
    """An option the dump cannot work with, refused before a row is read.
    ``option`` is its keyword (``max_row_count``, ``compress``)."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__("%s %s" % (option, problem))
        self.option = option
        self.problem = problem


@dataclass(frozen=True)
class DumpOptions:
    """How to write a dump.

    ``max_row_count`` caps the rows per chunk file of a directory dump and
    ``compress`` ("gzip", "zstd", or None for none) compresses its chunks.
    ``fields`` limits the fields written, as Django's ``fields`` option does.
    ``natural_foreign`` (True, False, or a set of model labels) and
    ``natural_primary`` are Django's natural key flags; ``natural_keys(model)``,
    when given, returns (natural_foreign, natural_primary) per model instead.
    ``on_block_error(block, exc)`` may return True to skip a model whose rows
    cannot be read (``dump2py --tolerate``); it is then listed in the
    manifest's SKIPPED. ``observer`` is told about each block (DumpObserver).
    ``writer`` replaces the writer chosen from the stream (``--simulate``
    passes one that writes nothing). ``left_out`` lists the models not dumped
    as [label, reason], for the manifest's LEFT_OUT. ``media`` adds the files
    that the dumped rows' file fields name (a directory dump only; see
    ``media.py``), and ``tolerate_missing_media`` lists a file missing in
    storage in MISSING_MEDIA instead of stopping the dump.
    """

    max_row_count: int = DEFAULT_MAX_ROW_COUNT
    compress: Optional[str] = None
    fields: Any = None
    natural_foreign: Any = False
    natural_primary: bool = False
    natural_keys: Optional[Callable[[Any], tuple[Any, bool]]] = None
    on_block_error: Optional[Callable[["Block", BaseException], bool]] = None
    observer: DumpObserver = field(default_factory=DumpObserver)
    writer: "ChunkWriter | None" = None
    left_out: Sequence[Sequence[str]] = ()
    media: bool = False
    tolerate_missing_media: bool = False

    def __post_init__(self) -> None:
        if self.max_row_count < 1:
            raise UnusableOption("max_row_count", "must be at least 1")
        try:
            check_available(self.compress)
        except (ValueError, DumpError) as exc:
            raise UnusableOption("compress", "%s: %s" % (self.compress, exc.args[0])) from exc
        object.__setattr__(self, "left_out", tuple(tuple(entry) for entry in self.left_out))

    @classmethod
    def resolve(
        cls, max_row_count: int | None = None, compress: str | None = None,
        media: bool | None = None, **options: Any
    ) -> "DumpOptions":
        """The options of a directory dump: a ``max_row_count``, ``compress`` or
        ``media`` left out (None) comes from its setting, else its default; the
        word "none" (dump2py's ``--compress none``, the setting) means no
        compression."""
        if max_row_count is None:
            max_row_count = getattr(settings, "PYSERIALIZER_MAX_ROW_COUNT", DEFAULT_MAX_ROW_COUNT)
        if compress is None:
            compress = getattr(settings, "PYSERIALIZER_COMPRESS", None)
        if compress == "none":
            compress = None
        if media is None:
            media = bool(getattr(settings, "PYSERIALIZER_MEDIA", False))
        return cls(max_row_count=max_row_count, compress=compress, media=media, **options)

    @classmethod
    def from_keywords(cls, keywords: dict[str, Any], directory: bool) -> "DumpOptions":
        """The options named in ``keywords`` (what ``serializers.serialize``
        passes on; others, such as ``indent``, are not a dump's). Only a
        directory dump has chunk files to size and compress."""
        known = {name: keywords[name] for name in _NAMES if name in keywords}
        if directory:
            return cls.resolve(**known)
        known.pop("max_row_count", None)
        known.pop("compress", None)
        if known.pop("media", False):
            raise UnusableOption("media", "needs a directory dump (-o DIR/restore.py): a "
                                 "single file has no folder for the files")
        return cls(**known)

    def natural_for(self, model: Any) -> tuple[Any, bool]:
        """(natural_foreign, natural_primary) for the rows of ``model``."""
        if self.natural_keys is not None:
            return self.natural_keys(model)
        return self.natural_foreign, self.natural_primary


_NAMES = [option.name for option in dataclasses.fields(DumpOptions)]
