"""Every instrument the record knows, by name.

Adding an instrument: write its definition file beside clasi.py and list it
here; the form grid, the body map, the scorer, the exchange format and the
stored assessments read this registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from clinical.instruments.clasi import CLASI
from clinical.instruments.instrument import Instrument

__all__ = ["DEFAULT_INSTRUMENT", "INSTRUMENTS", "get_instrument"]

INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({CLASI.name: CLASI})
DEFAULT_INSTRUMENT = "CLASI"


def get_instrument(name: str = DEFAULT_INSTRUMENT) -> Instrument:
    """The registered instrument of this name; KeyError if unknown."""
    return INSTRUMENTS[name]
