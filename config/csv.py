"""Writing CSV files people open in a spreadsheet: cells that cannot run as formulas, streamed row by row."""

import csv
from collections.abc import Iterable, Iterator

# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection"); a leading
# apostrophe makes them show it as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


class _Echo:
    """A file-like object whose write hands the line back, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """The lines of a CSV file for a StreamingHttpResponse, every cell made safe. The byte-order mark makes
    Excel read the file as UTF-8 (names with accents stay intact)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])
