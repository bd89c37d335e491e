"""The read formats the import pipeline understands: one entry per format.

A parser lives in integrations/<format>/ and turns a file into an mdm.records.ParseResult;
it is imported when first used, so the pipeline does not depend on every parser at import
time. A new format is one entry here."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from mdm.records import ParseResult


@dataclass(frozen=True)
class ReadFormat:
    name: str
    parser: str | Callable[..., ParseResult]  # "package.module:function", or the function
    takes_bytes: bool = False  # XML parsers read bytes (the encoding is in the document)
    # CSV lines only parse under their header: a fixed quarantined line is resubmitted with it.
    header_lines: int = 0

    def parse(self, content: bytes, source_name: str) -> ParseResult:
        func = self.parser
        if isinstance(func, str):
            module_name, func_name = func.split(":")
            func = getattr(import_module(module_name), func_name)
        data = content if self.takes_bytes else content.decode("utf-8-sig")
        return func(data, source_name)

    def prelude(self, content: bytes) -> str:
        if not self.header_lines:
            return ""
        lines = content.decode("utf-8-sig").splitlines(keepends=True)
        return "".join(lines[: self.header_lines])


FORMATS: dict[str, ReadFormat] = {
    "cmep": ReadFormat("cmep", "integrations.cmep.parser:parse_cmep"),
    "csv": ReadFormat("csv", "integrations.csv_reads.parser:parse_csv", header_lines=1),
    "multispeak": ReadFormat("multispeak", "integrations.multispeak.readings:parse_multispeak", takes_bytes=True),
}


class UnknownFormatError(ValueError):
    pass


def read_format(name: str) -> ReadFormat:
    """Raises UnknownFormatError for a format with no entry."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(f"Unknown read format {name!r}; known: {', '.join(sorted(FORMATS))}") from None
