"""Any other drug, named in free text on the course; no dose range is known."""

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(key="other", label="Other", frequencies=(1, 2, 7, 28), needs_name=True)
