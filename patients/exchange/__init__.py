"""The exchange format (`../shared/docs/exchange-format.md`) and the visits CSV.

- importer.py: parse and validate a document (versions 2 and 1) (the JSON Schema kept beside
  it, the scorer's checks, the record's rules) and write it all-or-nothing;
- export.py: a clinic's record -> a deterministic document;
- visits_csv.py: one row per visit.
"""

from patients.exchange.export import dumps_document, export_document, json_number
from patients.exchange.importer import (
    FORMAT,
    FORMAT_V1,
    FORMATS,
    SCHEMA_PATH,
    SCHEMA_FILENAME,
    SCHEMA_V1_FILENAME,
    SCHEMA_V1_PATH,
    DocumentError,
    ImportResult,
    import_document,
    loads_document,
    parse_document,
    path_text,
    schema,
)
from patients.exchange.visits_csv import csv_item_columns, visit_rows, write_visits_csv

__all__ = [
    "FORMAT",
    "FORMAT_V1",
    "FORMATS",
    "SCHEMA_PATH",
    "SCHEMA_FILENAME",
    "SCHEMA_V1_FILENAME",
    "SCHEMA_V1_PATH",
    "DocumentError",
    "ImportResult",
    "csv_item_columns",
    "dumps_document",
    "export_document",
    "import_document",
    "json_number",
    "loads_document",
    "parse_document",
    "path_text",
    "schema",
    "visit_rows",
    "write_visits_csv",
]
