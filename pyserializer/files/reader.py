"""The safe reader: turns the lines of a dump file into names and rows.

A dump file is Python source, but it is only ever parsed here, never run.
The reader accepts exactly the data grammar the writer produces::

    # comments and blank lines
    from pyserializer.literals import null, true, false, NaN, Infinity
    NAME = <a JSON value on one line>
    NAME = [
    <a JSON value on one line>,      (one row per line)
    ]

and it accepts a file only where Python's own tokenizer would see the same
lines: no character that Python reads as a line or page break other than
``\n`` (or ``\r\n``), no NUL byte, no byte-order mark, no encoding
declaration but UTF-8. So what the reader checked is what ``python FILE``
would run, line for line.

``blocks`` owns what a valid chunk is (FORMAT, MODEL, FIELDS, ROWS, row
width): every consumer takes its blocks checked from there, so none disagree.

Rows are parsed with the C JSON parser. In a data file, a line it rejects
(for example one edited by hand to say ``None`` or ``'text'``) is parsed as
Python with ``ast.parse`` and accepted only if it is made of literals alone;
``restore.py`` takes JSON values only. Anything else is an error that names
the file and line. Files are read in blocks, in time linear in their size,
and memory stays bounded by the longest line; a checksum of the bytes read
is kept on the way. A compressed chunk (``.py.gz``, ``.py.zst``) is read
through its decompressor; its size and checksum are those of the stored bytes.
"""

import ast
import codecs
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import DumpError, Kind, shorten
from .compression import DecompressingReader
from .grammar import IMPORT_LINE, SCRIPT_TRAILER_START, format_problem, parse_json_value
from .safefiles import check_regular_file

READ_BLOCK_SIZE = 1 << 20
# Python refuses to turn an int of more than 4300 digits into text; stay below.
MAX_INT_BITS = 14000
# What Python's tokenizer and the reader both take as space around a value.
SPACE = " \t\r\n"

_ASSIGNMENT = re.compile(r"([A-Z][A-Z0-9_]*) = (.*)\Z", re.DOTALL)
# Every byte but the control characters other than tab (\n, and a \r right
# before it, end a line): deleting these leaves the control characters.
_NOT_CONTROL = bytes(range(0x20, 0x100)) + b"\t"
_CONTROL_NAMES = {
    b"\x00": "a NUL byte",
    b"\r": "a carriage return that does not end a line",
    b"\x0c": "a form feed",
}
# PEP 263, as Python's tokenizer applies it to the first two lines.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_LITERAL_NAMES = {
    "null": None,
    "None": None,
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "NaN": float("nan"),
    "Infinity": float("inf"),
}
def _refuse_constant(name: str) -> Any:
    raise ValueError("%s is not a value of restore.py" % name)


_strict_json_decode = json.JSONDecoder(parse_constant=_refuse_constant).decode


class Section:
    """One ``NAME = [`` block: the names assigned before it, and its rows.

    ``rows`` yields ``(line_number, value)`` and must be consumed before the
    reader moves on to the next section. ``decoded`` says whether the row
    last yielded was decoded already (by a read-ahead worker), and
    ``texts_sent`` whether the worker put what the database gets for its
    dumped texts after its values (``RowPlan.send_texts``).
    """

    decoded = False
    texts_sent = False

    def __init__(self, name: str, names: dict[str, Any], line: int,
                 rows: Iterator[tuple[int, Any]] | None, name_lines: dict[str, int] | None = None) -> None:
        self.name = name
        self.names = names
        self.line = line
        # None only until the reader sets it, before yielding the section.
        self.rows: Iterator[tuple[int, Any]] = rows  # type: ignore[assignment]
        self.name_lines = name_lines or {}

    def line_of(self, name: str) -> int:
        """The line that assigned ``name`` (or the block's own line)."""
        return self.name_lines.get(name, self.line)

    # The model label (str) and the field names (list[str]) of every block that
    # blocks() yields, which checked them; Any, so that their readers need no
    # check for None.
    @property
    def model(self) -> Any:
        return self.names.get("MODEL")

    @property
    def fields(self) -> Any:
        return self.names.get("FIELDS")


class DumpReader:
    """Reads one dump file, given as a binary or text stream or a string.

    ``manifest`` reads a ``restore.py``: JSON values only, no import line,
    and the script part at the end (kept in ``trailer`` for the caller).
    """

    def __init__(self, source: IO[Any] | DecompressingReader | str | bytes, path: Any,
                 manifest: bool = False) -> None:
        self.path = path
        self.manifest = manifest
        check_regular_file(source, path)
        self._lines = _numbered_lines(source)
        self._digest = hashlib.sha256()
        self._read_size = 0
        self._compressed = source if isinstance(source, DecompressingReader) else None
        self.names: dict[str, Any] = {}
        self.name_lines: dict[str, int] = {}
        self.trailer: str | None = None

    @property
    def size(self) -> int:
        """Bytes read so far, as stored: a compressed chunk's compressed bytes."""
        if self._compressed is not None:
            return self._compressed.stored_size
        return self._read_size

    def sha256(self) -> str:
        if self._compressed is not None:
            return self._compressed.stored_sha256()
        return self._digest.hexdigest()

    def error(self, problem: str, line: int | None = None, model: Any = None, field: Any = None,
              kind: Kind = Kind.INVALID) -> DumpError:
        return DumpError(problem, self.path, line, model, field, kind)

    def sections(self) -> Iterator[Section]:
        """Yield a Section for each block, after reading the names before it:
        the file as written, whatever its names mean (see ``blocks``)."""
        return self._sections()

    def blocks(self, model: str | None = None) -> Iterator[Section]:
        """Yield the blocks of a chunk or single-file dump, checked, with rows
        checked as read. ``model``: the one restore.py lists for the chunk,
        which must hold a block of it (dump2py writes one even without rows)."""
        found = 0
        for found, block in enumerate(self._sections(lambda b: self._checked(b, model)), 1):
            yield block
        self.check_format()
        if model is not None and not found:
            raise self.error(
                "no ROWS block: a chunk written by pyserializer always has one (even "
                "without rows), so this one is truncated",
                model=model,
            )

    def check_format(self) -> None:
        """Refuse a file whose FORMAT, as read so far, this pyserializer cannot read."""
        self._check_format(self.names, self.name_lines.get("FORMAT"))

    def _check_format(self, names: dict[str, Any], line: int | None) -> None:
        problem = format_problem(names)
        if problem:
            raise self.error(problem, line)

    def _checked(self, block: Section, model: str | None) -> list[str]:
        """The field names of a block of rows, once its names are those of one."""
        self._check_format(block.names, block.line_of("FORMAT"))
        if block.name != "ROWS" or block.model is None or block.fields is None:
            raise self.error(
                "a block of rows must be ROWS = [ after MODEL = and FIELDS = lines",
                block.line,
            )
        if model is not None and block.model != model:
            raise self.error(
                "restore.py lists this chunk for model %s" % model,
                block.line_of("MODEL"),
                model=block.model,
            )
        return block.fields

    def _sections(
        self, check_block: Callable[[Section], list[str]] | None = None
    ) -> Iterator[Section]:
        """With ``check_block``, rows have one value per field name it returns."""
        for number, text in self._tracked_lines():
            stripped = text.strip(SPACE)
            if not stripped or stripped.startswith("#"):
                continue
            line = text.rstrip(SPACE)
            if line == IMPORT_LINE and not self.manifest:
                continue
            if self.manifest and line == SCRIPT_TRAILER_START:
                self.trailer = self._read_trailer(text)
                return
            match = _ASSIGNMENT.match(line)
            if match is None:
                raise self.error(
                    "this line is not part of a pyserializer dump "
                    "(expected NAME = value): %s" % shorten(stripped),
                    number,
                )
            name, value_text = match.groups()
            if value_text == "[":
                section = Section(name, dict(self.names), number, None, dict(self.name_lines))
                fields = check_block(section) if check_block else None
                section.rows = self._rows(name, number, section.model, fields)
                yield section
            else:
                value = self._parse_value(value_text, number, shown=line)
                self._check_shape(name, value, number)
                self.names[name] = value
                self.name_lines[name] = number

    def _check_shape(self, name: str, value: Any, number: int) -> None:
        """FORMAT, MODEL and FIELDS have one type each: refuse any other at their line."""
        if name == "FORMAT" and type(value) is not int:
            problem = "FORMAT must be an integer"
        elif name == "MODEL" and not isinstance(value, str):
            problem = "MODEL must be a model label (a string)"
        elif name == "FIELDS" and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            problem = "FIELDS must be a list of field names (strings)"
        else:
            return
        raise self.error("%s, not %s" % (problem, shorten(repr(value))), number)

    def _rows(self, name: str, start_line: int, model: str | None,
              fields: list[str] | None = None) -> Iterator[tuple[int, Any]]:
        """Yield (line, value); with ``fields``, each value is a list of one value per field."""
        for number, text in self._tracked_lines():
            stripped = text.strip(SPACE)
            if not stripped or stripped.startswith("#"):
                continue
            if stripped == "]":
                return
            if not stripped.endswith(","):
                raise self.error("a row must end with a comma", number, model)
            value = self._parse_value(stripped[:-1], number, model)
            if fields is not None and (type(value) is not list or len(value) != len(fields)):
                raise self.error(
                    "expected a list of %d values (%s), found %s"
                    % (len(fields), ", ".join(fields), shorten(repr(value))),
                    number,
                    model,
                )
            yield number, value
        raise self.error(
            "the file ends inside %s (opened at line %d): it is truncated"
            % (name, start_line),
            model=model,
        )

    def _read_trailer(self, first_line: str) -> str:
        parts = [first_line]
        for _number, text in self._tracked_lines():
            parts.append(text)
            if sum(map(len, parts)) > 4096:
                break
        return "".join(parts)

    def _tracked_lines(self) -> Iterator[tuple[int, str]]:
        digest_update = self._digest.update
        for number, raw in self._lines:
            digest_update(raw)
            self._read_size += len(raw)
            self._check_as_python_reads(number, raw)
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.error("not valid UTF-8 (%s)" % exc.reason, number)

    def _check_as_python_reads(self, number: int, raw: bytes) -> None:
        """Refuse a line that Python's tokenizer would split, join or decode
        differently from this reader (see docs/format.rst, "The grammar")."""
        body = raw[:-1] if raw.endswith(b"\n") else raw
        if raw.endswith(b"\r\n"):
            body = body[:-1]
        controls = body.translate(None, _NOT_CONTROL)
        if controls:
            character = controls[:1]
            raise self.error(
                "%s: Python would read this line differently from pyserializer "
                "(only \\n or \\r\\n may end a line, and other control characters "
                "are written escaped, inside strings)"
                % _CONTROL_NAMES.get(character, "the control character %r" % character),
                number,
            )
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raise self.error("the file starts with a byte-order mark; dump files are UTF-8 "
                             "without one", number)
        if number <= 2:
            cookie = _CODING.match(raw)
            if cookie is not None and not _is_utf8(cookie.group(1)):
                raise self.error(
                    "an encoding declaration for %s: dump files are UTF-8, and "
                    "Python would decode this file differently"
                    % cookie.group(1).decode("ascii"),
                    number,
                )

    def _parse_value(self, text: str, number: int, model: str | None = None,
                     shown: str | None = None) -> Any:
        """The value in ``text``; an error quotes ``shown`` (the whole line) or ``text``."""
        if self.manifest:
            try:
                return _strict_json_decode(text)
            except (ValueError, RecursionError) as exc:
                problem = "restore.py holds JSON values only (%s)" % shorten(str(exc), 60)
        else:
            try:
                return parse_json_value(text)
            except (ValueError, RecursionError):
                pass
            try:
                return literal_value(text)
            except ValueError as exc:
                problem = str(exc)
        shown = shorten((shown or text).strip(SPACE))
        raise self.error("%s: %s" % (problem, shown), number, model)


def _is_utf8(name: bytes) -> bool:
    """Whether Python's tokenizer reads a file with this encoding declaration as UTF-8."""
    text = name.decode("ascii").lower().replace("_", "-")
    if text == "utf-8" or text.startswith("utf-8-"):
        return True
    try:
        return codecs.lookup(text).name == "utf-8"
    except LookupError:
        return False


def literal_value(text: str) -> Any:
    """Parse a Python expression made of literals only, without running it.

    The expression must be the whole of ``text``, as Python would read it in
    its place: no comment after it, no parentheses around it, and not a
    tuple without brackets (which Python would read as several values).
    """
    text = text.strip(SPACE)
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError("syntax error")
    body = tree.body
    if (body.col_offset, body.end_lineno, body.end_col_offset) != (0, 1, len(text.encode("utf-8"))):
        raise ValueError("a value must be the whole line, without a comment or parentheses around it")
    if isinstance(body, ast.Tuple):
        raise ValueError("a value is written as a list [...], not as a tuple")
    try:
        return _literal(body)
    except RecursionError:
        raise ValueError("too deeply nested")


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and not isinstance(node.value, type(...)):
        if type(node.value) is int and node.value.bit_length() > MAX_INT_BITS:
            raise ValueError("this integer is too large")
        return node.value
    if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES:
        return _LITERAL_NAMES[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        try:
            return {_literal(k): _literal(v)  # type: ignore[arg-type]  # no None key, checked above
                    for k, v in zip(node.keys, node.values)}
        except TypeError:
            raise ValueError("a dict key must be a string, a number or null, not a list or dict")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal(node.operand)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise ValueError("only literal values are allowed in a dump, not code")


def _numbered_lines(source: Any) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, raw bytes line) from a stream or string, in blocks.

    Lines end at ``\\n`` only; a line longer than a block is kept in pieces
    and joined once, so reading is linear in the length of the line.
    """
    if isinstance(source, str):
        source = source.encode("utf-8", "surrogatepass")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    stream = getattr(source, "buffer", source)
    number = 0
    pending: list[bytes] = []
    while True:
        block = stream.read(READ_BLOCK_SIZE)
        if not block:
            break
        if isinstance(block, str):
            block = block.encode("utf-8", "surrogatepass")
        lines = block.split(b"\n")
        if len(lines) == 1:
            pending.append(block)
            continue
        last = lines.pop()
        if pending:
            pending += (lines[0], b"\n")
            lines[0] = b"".join(pending)
        else:
            lines[0] += b"\n"
        pending = [last] if last else []
        number += 1
        yield number, lines[0]
        for line in lines[1:]:
            number += 1
            yield number, line + b"\n"
    if pending:
        yield number + 1, b"".join(pending)
