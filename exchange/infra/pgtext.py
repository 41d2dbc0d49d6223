"""PostgreSQL's text forms, built in Python for bulk writes: COPY rows and array literals.

Why text rather than the driver's adapters: psycopg dumps a list parameter and a COPY row value
by value in Python, which cost more than the statements they fed (a fifth of the matcher's
writer time for array parameters alone). PostgreSQL parses one array literal or one COPY buffer
in C. Used by the matcher's batches and the ledger's bulk API.
"""
from django.db import connection

# COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def copy_text(value: str | None) -> str:
    """One value of a COPY text row (None as NULL)."""
    return NULL if value is None else value.translate(_COPY_ESCAPES)


def numbers(values: list) -> str:
    """An array literal of ints or Decimals (None as NULL), for ``%s::bigint[]`` / ``%s::numeric[]``."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


def codes(values: list[str]) -> str:
    """An array literal of strings, for ``%s::text[]``."""
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


def flags(values: list[bool]) -> str:
    """An array literal of booleans, for ``%s::boolean[]``."""
    return "{" + ",".join(["t" if v else "f" for v in values]) + "}"


def next_ids(sequence: str, count: int) -> list[int]:
    """Ids from a sequence, on the calling thread's connection (sequences are not transactional:
    an id taken for a batch that then fails is simply never used)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return [r[0] for r in cursor.fetchall()]


def copy_rows(cursor, table: str, columns: str, text: str | None) -> None:
    """COPY ``text`` (rows in COPY's text format) into ``table``; nothing if it is empty."""
    if text:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(text)
