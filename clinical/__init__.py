"""The clinical core: plain Python on plain data, no Django import.

The record (record.py), the instruments, the drugs, the lab table and the
rules live here so that the web pages, the commands and the report share one
definition of each clinical fact, and the tests exercise them fast and
exhaustively. `make test` fails if any module below imports Django.
"""
