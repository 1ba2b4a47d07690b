"""Every drug the record knows, by key, in the order forms offer them.

Adding a drug: write its profile module beside this file and add it to
`_MODULES`; the model choices, forms, exchange schema and rules read the
registry.
"""

from __future__ import annotations

from clinical.drugs import (
    anifrolumab,
    aspirin,
    azathioprine,
    belimumab,
    chloroquine,
    dapsone,
    heparin,
    hydroxychloroquine,
    lenalidomide,
    methotrexate,
    mycophenolate,
    other,
    prednisone,
    quinacrine,
    thalidomide,
)
from clinical.drugs.profile import FREQUENCIES, DrugProfile

__all__ = ["DRUGS", "FREQUENCIES", "DrugProfile", "UnknownDrug", "get", "watched_keys"]

# exchange-format.md order: the watched drugs first, `other` last.
_MODULES = (
    lenalidomide,
    thalidomide,
    hydroxychloroquine,
    chloroquine,
    quinacrine,
    methotrexate,
    mycophenolate,
    azathioprine,
    dapsone,
    prednisone,
    belimumab,
    anifrolumab,
    aspirin,
    heparin,
    other,
)

DRUGS: dict[str, DrugProfile] = {m.PROFILE.key: m.PROFILE for m in _MODULES}


class UnknownDrug(KeyError):
    pass


def get(key: str) -> DrugProfile:
    try:
        return DRUGS[key]
    except KeyError:
        raise UnknownDrug(key) from None


def watched_keys() -> frozenset[str]:
    return frozenset(k for k, p in DRUGS.items() if p.watched)
