"""The safety reads of the patient page (clasi.md section 5): Django glue over
clinical.rules.safety / kidney / worklist. The site's settings enter here, once.

`safety_options()` is what every caller of `clinical.rules.worklist.safety_items`
passes (the needs-attention page and the stored derived state use it too), so
the patient page and the worklist never disagree on the programme or the limit.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from clinical.record import PatientRecord
from clinical.rules.kidney import creatinine_clearance
from clinical.rules.safety import PROGRAMMES, thrombosis_risk
from clinical.rules.worklist import safety_items


def safety_options() -> dict:
    """The keyword arguments of safety_items / safety_monitoring from the site's settings."""
    return {
        "programme": settings.CLE_PREGNANCY_PROGRAMME,
        "crcl_review_ml_min": settings.CLE_CRCL_REVIEW_ML_MIN,
    }


def patient_safety(record: PatientRecord, today: dt.date) -> dict:
    """The patient page's safety box: every finding (urgent first), the creatinine
    clearance with its inputs, the thrombosis check. Pure rules: no query."""
    options = safety_options()
    renal_course = any(c.profile.renal_dose_review for c in record.courses)
    return {
        "safety_items": safety_items(record, today, **options),
        # Shown once a course of a drug cleared by the kidney is recorded.
        "clearance": creatinine_clearance(record, today) if renal_course else None,
        "crcl_review_ml_min": options["crcl_review_ml_min"],
        "thrombosis": thrombosis_risk(record, today),
        "programme_label": PROGRAMMES[options["programme"]],
    }
