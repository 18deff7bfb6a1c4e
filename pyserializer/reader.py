"""The safe reader: turns the lines of a dump file into names and rows.

A dump file is Python source, but it is only ever parsed here, never run.
The reader accepts exactly the data grammar the writer produces::

    # comments and blank lines
    from pyserializer.literals import null, true, false, NaN, Infinity
    NAME = <a JSON value on one line>
    NAME = [
    <a JSON value on one line>,      (one row per line)
    ]

Rows are parsed with the C JSON parser. A line it rejects (for example one
edited by hand to say ``None`` or ``'text'``) is parsed as Python with
``ast.parse`` and accepted only if it is made of literals alone. Anything
else is an error that names the file and line. Files are read in blocks, so
memory stays bounded however large the file is; a checksum of the bytes read
is kept on the way.
"""

import ast
import hashlib
import json
import re

from .errors import DumpError
from .grammar import IMPORT_LINE, SCRIPT_TRAILER_START

READ_BLOCK_SIZE = 1 << 20

_ASSIGNMENT = re.compile(r"([A-Z][A-Z0-9_]*) = (.*)\Z", re.DOTALL)
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
_json_decode = json.JSONDecoder().decode


class Section:
    """One ``NAME = [`` block: the names assigned before it, and its rows.

    ``rows`` yields ``(line_number, value)`` and must be consumed before the
    reader moves on to the next section.
    """

    def __init__(self, name, names, line, rows, name_lines=None):
        self.name = name
        self.names = names
        self.line = line
        self.rows = rows
        self.name_lines = name_lines or {}

    def line_of(self, name):
        """The line that assigned ``name`` (or the block's own line)."""
        return self.name_lines.get(name, self.line)


class DumpReader:
    """Reads one dump file, given as a binary or text stream or a string."""

    def __init__(self, source, path, allow_script_trailer=False):
        self.path = path
        self.allow_script_trailer = allow_script_trailer
        self._lines = _numbered_lines(source)
        self._digest = hashlib.sha256()
        self.size = 0
        self.names = {}
        self.name_lines = {}
        self.trailer = None

    def sha256(self):
        return self._digest.hexdigest()

    def error(self, problem, line=None, model=None, field=None):
        return DumpError(problem, self.path, line, model, field)

    def sections(self):
        """Yield a Section for each block, after reading the names before it."""
        for number, text in self._tracked_lines():
            stripped = text.strip()
            if not stripped or stripped.startswith("#") or stripped == IMPORT_LINE:
                continue
            if self.allow_script_trailer and text.rstrip() == SCRIPT_TRAILER_START:
                self.trailer = self._read_trailer(text)
                return
            match = _ASSIGNMENT.match(text.rstrip())
            if match is None:
                raise self.error(
                    "this line is not part of a pyserializer dump "
                    "(expected NAME = value): %s" % _shorten(stripped),
                    number,
                )
            name, value_text = match.groups()
            if value_text == "[":
                names = dict(self.names)
                rows = self._rows(name, number, names.get("MODEL"))
                yield Section(name, names, number, rows, dict(self.name_lines))
            else:
                self.names[name] = self._parse_value(value_text, number)
                self.name_lines[name] = number

    def _rows(self, name, start_line, model):
        for number, text in self._tracked_lines():
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped == "]":
                return
            if not stripped.endswith(","):
                raise self.error("a row must end with a comma", number, model)
            yield number, self._parse_value(stripped[:-1], number, model)
        raise self.error(
            "the file ends inside %s (opened at line %d): it is truncated"
            % (name, start_line),
            model=model,
        )

    def _read_trailer(self, first_line):
        parts = [first_line]
        for _number, text in self._tracked_lines():
            parts.append(text)
            if sum(map(len, parts)) > 4096:
                break
        return "".join(parts)

    def _tracked_lines(self):
        digest_update = self._digest.update
        for number, raw in self._lines:
            digest_update(raw)
            self.size += len(raw)
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.error("not valid UTF-8 (%s)" % exc.reason, number)

    def _parse_value(self, text, number, model=None):
        try:
            return _json_decode(text)
        except (ValueError, RecursionError):
            pass
        try:
            return literal_value(text)
        except ValueError as exc:
            raise self.error("%s: %s" % (exc, _shorten(text.strip())), number, model)


def literal_value(text):
    """Parse a Python expression made of literals only, without running it."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError("syntax error")
    try:
        return _literal(tree.body)
    except RecursionError:
        raise ValueError("too deeply nested")


def _literal(node):
    if isinstance(node, ast.Constant) and not isinstance(node.value, type(...)):
        return node.value
    if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES:
        return _LITERAL_NAMES[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal(node.operand)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise ValueError("only literal values are allowed in a dump, not code")


def _shorten(text, limit=80):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _numbered_lines(source):
    """Yield (line number, raw bytes line) from a stream or string, in blocks."""
    if isinstance(source, str):
        source = source.encode("utf-8")
    if isinstance(source, bytes):
        for number, line in enumerate(source.splitlines(keepends=True), 1):
            yield number, line
        return
    stream = getattr(source, "buffer", source)
    number = 0
    pending = b""
    while True:
        block = stream.read(READ_BLOCK_SIZE)
        if not block:
            break
        if isinstance(block, str):
            block = block.encode("utf-8")
        lines = (pending + block).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            yield number, line + b"\n"
    if pending:
        yield number + 1, pending
