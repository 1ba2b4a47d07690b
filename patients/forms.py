"""Forms of the record; messages name the field they concern."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.utils import timezone

from patients.dates import validate_plausible
from django.conf import settings

from clinical import ctcae, labs as lab_table
from patients.models import (
    AE_OTHER,
    AeAction,
    AeAttribution,
    CleSubtype,
    LabTest,
    Patient,
    PregnancyResult,
    StopReason,
)
from clinical.drugs import registry as drug_registry
from clinical.drugs.profile import FREQUENCIES
from clinical.instruments.clasi import CLASI
from clinical.instruments.exam import Exam, parse_exam_all_errors
from clinical.instruments.instrument import Instrument, Item
from patients.services import AdverseEventInput, LabInput, drug_problems, lab_problem, not_a_ctcae_term


class DecimalCommaField(forms.DecimalField):
    """A decimal typed the European way, "1,2", reads as 1.2.

    Only a lone comma with no point is a decimal comma; "1,234.5" stays an
    error rather than a guess at a thousands separator.
    """

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip()
            if value.count(",") == 1 and "." not in value:
                value = value.replace(",", ".")
        return super().to_python(value)


def DATE_WIDGET() -> forms.DateInput:
    # <input type="date"> only accepts ISO dates; the site's en-gb format
    # (dd/mm/yyyy) would leave the field looking empty.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# A database constraint's name is for developers: each one a form can trip maps
# to the field it concerns and words a clinician reads.
PATIENT_CONSTRAINT_MESSAGES: dict[str, tuple[str | None, str]] = {
    "patient_sle_date_needs_sle": ("sle_diagnosed", "A diagnosis date needs SLE to be ticked."),
    "patient_code_not_empty": ("code", "Enter the clinic's code for this patient."),
    "patient_sex_valid": ("sex", "Choose the sex from the list."),
    "patient_code_unique_in_clinic": ("code", "Another patient of this clinic has this code."),
}


def _name_constraint_errors(form: forms.BaseForm, messages: dict[str, tuple[str | None, str]]) -> None:
    """Move "Constraint “x” is violated." off the top of the form onto its field."""
    from django.forms.utils import ErrorList

    general = form._errors.get(forms.forms.NON_FIELD_ERRORS) if form._errors else None
    if not general:
        return
    kept = ErrorList()
    for message in general:
        target = next((m for name, m in messages.items() if f"“{name}”" in message), None)
        if target is None and "Constraint “" in message:
            target = (None, "These values contradict each other; please check the fields.")
        if target is None:
            kept.append(message)
            continue
        field, text = target
        if field is not None and field in form.fields:
            form._errors.setdefault(field, form.error_class(renderer=form.renderer))
            if text not in form._errors[field]:
                form._errors[field].append(text)
        else:
            kept.append(text)
    if kept:
        form._errors[forms.forms.NON_FIELD_ERRORS] = form.error_class(kept, error_class="nonfield")
    else:
        del form._errors[forms.forms.NON_FIELD_ERRORS]


class PatientForm(forms.ModelForm):
    cle_subtypes = forms.MultipleChoiceField(
        label="CLE subtypes",
        choices=CleSubtype.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Patient
        fields = [
            "code", "name", "sex", "birth_date", "cle_subtypes", "sle", "sle_diagnosed",
            "reproductive_potential", "note", "history_vte", "history_antiphospholipid",
            "history_oestrogen_contraception", "history_thalidomide_neuropathy", "history_note",
        ]
        widgets = {
            "birth_date": DATE_WIDGET(),
            "sle_diagnosed": DATE_WIDGET(),
            "note": forms.Textarea(attrs={"rows": 3}),
            # Yes / No / Unknown: an unrecorded history is not a "no".
            "history_vte": forms.NullBooleanSelect(),
            "history_oestrogen_contraception": forms.NullBooleanSelect(),
            "history_thalidomide_neuropathy": forms.NullBooleanSelect(),
            "history_note": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"name": "Display name (optional)", "reproductive_potential": "Of reproductive potential"}
        help_texts = {
            "reproductive_potential": "Lenalidomide is teratogenic: pregnancy tests are tracked.",
        }

    def __init__(self, *args, clinics=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update({"autofocus": True, "autocomplete": "off"})
        if clinics is not None:
            self.fields["clinic"] = forms.ModelChoiceField(
                queryset=clinics, empty_label=None, label="Clinic"
            )
            self.order_fields(["clinic"])

    def _post_clean(self):
        super()._post_clean()
        _name_constraint_errors(self, PATIENT_CONSTRAINT_MESSAGES)

    def validate_unique(self):
        # Uniqueness of the code within the clinic is checked by the service,
        # which knows the clinic; the model form does not.
        pass


# -- the visit form: date, clinician, the CLASI grid, labs, events ------------


GRID_PREFIX = "clasi"
SKIP_FIELD = f"{GRID_PREFIX}-skip"


def cell_name(area_key: str, item_key: str) -> str:
    """The POST name of one grid cell: ``clasi-scalp-erythema``."""
    return f"{GRID_PREFIX}-{area_key}-{item_key}"


def exam_item_name(key: str) -> str:
    """The POST name of an item scored once per examination, or of the modifier."""
    return f"{GRID_PREFIX}-{key}"


def _legend(item: Item) -> str:
    return " · ".join(f"{v} {label}" for v, label in item.value_labels.items())


def _pattern(item: Item) -> str:
    # A one-character class of the allowed digits, e.g. [0-3] or [03456]: the
    # browser marks a wrong digit at once; the server still decides.
    return "[" + "".join(str(v) for v in item.values) + "]"


@dataclass
class GridCell:
    name: str
    label: str
    item: Item
    applies: bool
    value: str = ""
    error: str = ""
    reason: str = ""  # why a not-applicable cell is not scored
    copied: bool = False  # filled from the previous visit, not yet confirmed by typing

    @property
    def id(self) -> str:
        return f"id_{self.name}"

    @property
    def title(self) -> str:
        return f"{self.label}: {_legend(self.item)}"

    @property
    def pattern(self) -> str:
        return _pattern(self.item)

    @property
    def legend(self) -> str:
        return _legend(self.item)

    @property
    def is_zero(self) -> bool:
        return self.value in ("", "0")

    @property
    def value_label(self) -> str:
        """The clinical word of the value shown (read-only pages)."""
        try:
            return self.item.label_of(int(self.value))
        except (ValueError, KeyError):
            return ""


@dataclass
class GridRow:
    key: str
    label: str
    cells: list[GridCell] = field(default_factory=list)


class ClasiGrid:
    """The CLASI entry grid built from the instrument's data (13 areas x the
    area items in form order, the N/A scalp-scarring cell, the items scored
    once per examination and the 12-month modifier), and the parser that
    turns its POST back into the exchange-format examination.

    Validation is the scoring engine's (parse_exam_all_errors); this class
    only maps each error's exchange-format path back to the cell it came
    from, so the message sits next to that cell.
    """

    def __init__(self, data=None, *, initial: Exam | None = None, instrument: Instrument = CLASI,
                 skipped: bool = False, copied_from: dt.date | None = None) -> None:
        self.instrument = instrument
        # The date of the visit whose examination was copied into an unsaved grid.
        self.copied_from = copied_from
        self.data = data
        self.errors: dict[str, str] = {}
        self.non_field_errors: list[str] = []
        self.exam: Exam | None = None
        values: dict[str, str] = {}
        flag = False
        if data is not None:
            values = {k: str(v).strip() for k, v in data.items() if k.startswith(GRID_PREFIX + "-")}
            flag = bool(data.get(exam_item_name(instrument.modifier.key)))
            self.skipped = bool(data.get(SKIP_FIELD))
        else:
            self.skipped = skipped
            if initial is not None:
                for area_key, cells in initial.areas.items():
                    for item_key, value in cells.items():
                        values[cell_name(area_key, item_key)] = str(value)
                for item_key, value in initial.exam_items.items():
                    values[exam_item_name(item_key)] = str(value)
                flag = initial.dyspigmentation_lasts_12_months
        self.flag_checked = flag
        self.rows = [
            GridRow(area.key, area.label, [
                GridCell(
                    name=cell_name(area.key, item.key),
                    label=f"{area.label}: {item.label}",
                    item=item,
                    applies=instrument.applies(area.key, item.key),
                    value=values.get(cell_name(area.key, item.key), ""),
                    reason=("" if instrument.applies(area.key, item.key)
                            else instrument.not_applicable_reason(area.key, item.key)),
                )
                for item in instrument.area_items
            ])
            for area in instrument.areas
        ]
        self.exam_cells = [
            GridCell(name=exam_item_name(item.key), label=item.label, item=item, applies=True,
                     value=values.get(exam_item_name(item.key), ""))
            for item in instrument.exam_items
        ]
        self._cells = {c.name: c for row in self.rows for c in row.cells}
        self._cells.update({c.name: c for c in self.exam_cells})
        if copied_from is not None:
            for cell in self._cells.values():
                if cell.value == "0":
                    cell.value = ""  # a blank cell is 0: copied zeros would only clutter
                cell.copied = cell.applies and bool(cell.value)

    @property
    def entered(self) -> list[GridCell]:
        """The cells that hold something (a typed 0 included)."""
        return [c for c in self._cells.values() if c.value]

    @property
    def is_blank(self) -> bool:
        """Nothing typed yet: no cell holds a value and the modifier is unticked."""
        return not self.entered and not self.flag_checked

    # -- template helpers ---------------------------------------------------

    @property
    def columns(self) -> list[Item]:
        return list(self.instrument.area_items)

    @property
    def modifier(self):
        return self.instrument.modifier

    @property
    def flag_name(self) -> str:
        return exam_item_name(self.instrument.modifier.key)

    @property
    def skip_name(self) -> str:
        return SKIP_FIELD

    def legend(self) -> list[tuple[Item, list[tuple[int, str]]]]:
        return [(i, list(i.value_labels.items())) for i in self.instrument.items]

    # -- parsing ------------------------------------------------------------

    def to_document(self) -> dict:
        """The exchange-format examination typed into the grid, with the
        cells' own errors (not a whole number) collected on the way.  Blank
        cells are left out and score 0, as on the paper form; a value posted
        for a not-applicable cell is passed on so the engine names it."""
        doc: dict = {"instrument": self.instrument.name, "areas": {}}
        for row in self.rows:
            entered: dict = {}
            for cell in row.cells:
                if cell.value:
                    entered[cell.item.key] = self._number(cell)
            if entered:
                doc["areas"][row.key] = entered
        for cell in self.exam_cells:
            if cell.value:
                doc[cell.item.key] = self._number(cell)
        if self.flag_checked:
            doc[self.instrument.modifier.key] = True
        return doc

    def _number(self, cell: GridCell) -> object:
        text = cell.value
        if text.isascii() and text.isdigit() and len(text) <= 3:
            return int(text)
        # Not a whole number: pass the text on so the engine reports it, and
        # word the message for a person rather than for JSON.
        self.errors[cell.name] = f"Enter one of {cell.item.values_text}, not “{text[:20]}”."
        return text

    def is_valid(self) -> bool:
        self.errors, self.non_field_errors, self.exam = {}, [], None
        if self.data is None:
            return False
        if self.skipped:
            if self.entered:
                # Never drop typed scores silently: the clinician decides.
                count = len(self.entered)
                self.non_field_errors.append(
                    f"“No CLASI examination” is ticked but {count} cell{'s' if count > 1 else ''} "
                    "hold scores: clear the cells or untick the box.")
                return False
            return True
        exam, errors = parse_exam_all_errors(self.to_document())
        for error in errors:
            name = self._field_for(error.path)
            if name is None:
                self.non_field_errors.append(str(error))
            elif name not in self.errors:
                self.errors[name] = error.message[:1].upper() + error.message[1:] + "."
        for name, message in self.errors.items():
            self._cells[name].error = message
        if self.errors or self.non_field_errors:
            return False
        self.exam = exam
        return True

    def _field_for(self, path: str) -> str | None:
        parts = path.split(".")
        if len(parts) == 3 and parts[0] == "areas":
            name = cell_name(parts[1], parts[2])
        elif len(parts) == 1:
            name = exam_item_name(parts[0])
        else:
            return None
        return name if name in self._cells else None

    def cell_errors(self) -> list[GridCell]:
        return [c for c in self._cells.values() if c.error]


def _today() -> dt.date:
    return timezone.localdate()


class VisitForm(forms.Form):
    date = forms.DateField(validators=[validate_plausible], label="Visit date", widget=DATE_WIDGET())
    clinician = forms.ModelChoiceField(queryset=None, required=False, label="Clinician",
                                       empty_label="— not recorded —")
    weight_kg = DecimalCommaField(label="Weight (kg)", required=False, max_digits=5, decimal_places=1,
                                   widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
                                   help_text="For the creatinine clearance (Cockcroft-Gault).")
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, clinicians=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = clinicians
        self.fields["clinician"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


def default_lab_unit(test: str) -> str:
    """The clinic's usual unit for `test` (settings.CLE_LAB_DEFAULT_UNITS; the canonical one)."""
    return settings.CLE_LAB_DEFAULT_UNITS.get(test) or lab_table.LABS[test].canonical


class LabsForm(forms.Form):
    """One row per lab test: a value and its unit chosen from the test's list
    (clasi.md 5.5; the pregnancy test: a result). A blank value means the test
    was not done at this visit. The unit defaults to the clinic's usual one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = {**(self.initial or {})}
        for test in LabTest:
            if test == LabTest.PREGNANCY:
                self.fields["lab-pregnancy-result"] = forms.ChoiceField(
                    label=test.label, required=False,
                    choices=[("", "— not done —"), *PregnancyResult.choices])
                continue
            self.fields[f"lab-{test.value}-value"] = DecimalCommaField(
                label=test.label, required=False, min_value=Decimal(0), max_digits=12,
                decimal_places=4, widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 7}))
            default = default_lab_unit(test.value)
            choices = [(unit, unit) for unit in lab_table.LABS[test.value].unit_names]
            # A unit stored before the list existed stays visible (never silently
            # replaced by the default): saving it is refused with the list named.
            old = stored.get(f"lab-{test.value}-unit")
            if self.is_bound:
                old = self.data.get(self.add_prefix(f"lab-{test.value}-unit"))
            if old and old not in dict(choices):
                choices.append((old, f"{old} (not on the list)"))
            self.fields[f"lab-{test.value}-unit"] = forms.ChoiceField(
                label=f"{test.label} unit", required=False, choices=choices, initial=default,
                # data-default: the script takes an unchanged unit out of the Tab order.
                widget=forms.Select(attrs={"class": "unit", "data-default": default}))

    def clean(self):
        # The record's lab rule (patients.services.lab_problem, clasi.md 5.5):
        # a unit outside the test's list is named beside its field.
        data = super().clean()
        for test in LabTest:
            if test == LabTest.PREGNANCY or data.get(f"lab-{test.value}-value") is None:
                continue
            problem, _ = lab_problem(test.value, data[f"lab-{test.value}-value"], "",
                                     data.get(f"lab-{test.value}-unit") or "")
            if problem is not None:
                self.add_error(f"lab-{test.value}-{problem.field}",
                               problem.message[:1].upper() + problem.message[1:] + ".")
        return data

    def rows(self):
        """(test label, value field, unit field) per test, for the template."""
        for test in LabTest:
            if test == LabTest.PREGNANCY:
                yield test.label, self["lab-pregnancy-result"], None
            else:
                yield test.label, self[f"lab-{test.value}-value"], self[f"lab-{test.value}-unit"]

    def lab_inputs(self) -> list[LabInput]:
        data = self.cleaned_data
        labs = []
        for test in LabTest:
            if test == LabTest.PREGNANCY:
                if data.get("lab-pregnancy-result"):
                    labs.append(LabInput(test=test.value, result=data["lab-pregnancy-result"]))
            elif data.get(f"lab-{test.value}-value") is not None:
                labs.append(LabInput(test=test.value, value=data[f"lab-{test.value}-value"],
                                     unit=data.get(f"lab-{test.value}-unit") or ""))
        return labs

    @staticmethod
    def initial_from(labs) -> dict:
        initial: dict = {}
        for lab in labs:
            if lab.test == LabTest.PREGNANCY:
                initial["lab-pregnancy-result"] = lab.result
            else:
                initial[f"lab-{lab.test}-value"] = f"{lab.value.normalize():f}"  # 210, not 2.1E+2
                initial[f"lab-{lab.test}-unit"] = lab.unit
        return initial


# A grade is chosen by typing its digit (the label starts with it).
CTCAE_GRADES = [("", "—"), ("1", "1 mild"), ("2", "2 moderate"), ("3", "3 severe"),
                ("4", "4 life-threatening"), ("5", "5 death")]
SPARE_EVENT_ROWS = 2


def ctcae_term(text: str) -> str | None:
    """The CTCAE list's spelling of `text` ("other" for the free-text event), or None."""
    folded = " ".join(text.split())
    if folded.casefold() == AE_OTHER:
        return AE_OTHER
    listed = ctcae.lookup(folded)
    return listed.term if listed is not None else None


ATTRIBUTION_CHOICES = [("", "— not recorded —"), *AeAttribution.choices]
ACTION_CHOICES = [("", "— not recorded —"), *AeAction.choices]


class EventsForm(forms.Form):
    """Adverse events as numbered rows: the CTCAE term (searchable: the list is a
    datalist; "other" with its words), grade, and optionally attribution and
    action taken (clasi.md 5.4). A blank row is ignored. Without JavaScript
    there is no "add a row" button, so the form always offers spare rows."""

    def __init__(self, *args, rows: int = SPARE_EVENT_ROWS, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            posted = [k for k in self.data if k.startswith("ae-") and k.endswith("-term")]
            rows = max(rows, len(posted))
        self.row_count = rows
        for i in range(rows):
            self.fields[f"ae-{i}-term"] = forms.CharField(
                label=f"Adverse event {i + 1}: CTCAE term", required=False, max_length=200,
                # The CTCAE term list (clinical.ctcae) as suggestions; any term is accepted.
                widget=forms.TextInput(attrs={"list": "ctcae-terms", "autocomplete": "off",
                                              "class": "ae-term"}),
                help_text="From the CTCAE list, or “other”.")
            self.fields[f"ae-{i}-other"] = forms.CharField(
                label=f"Adverse event {i + 1}: other event (words)", required=False, max_length=200,
                widget=forms.TextInput(attrs={"class": "ae-other", "autocomplete": "off"}))
            self.fields[f"ae-{i}-grade"] = forms.TypedChoiceField(
                label=f"Adverse event {i + 1}: grade", required=False, choices=CTCAE_GRADES,
                coerce=int, empty_value=None)
            self.fields[f"ae-{i}-attribution"] = forms.ChoiceField(
                label=f"Adverse event {i + 1}: attribution", required=False,
                choices=ATTRIBUTION_CHOICES)
            self.fields[f"ae-{i}-action"] = forms.ChoiceField(
                label=f"Adverse event {i + 1}: action taken", required=False, choices=ACTION_CHOICES)

    def rows(self):
        for i in range(self.row_count):
            yield (i + 1, self[f"ae-{i}-term"], self[f"ae-{i}-grade"], self[f"ae-{i}-other"],
                   self[f"ae-{i}-attribution"], self[f"ae-{i}-action"])

    def clean(self):
        data = super().clean()
        for i in range(self.row_count):
            term = (data.get(f"ae-{i}-term") or "").strip()
            other = (data.get(f"ae-{i}-other") or "").strip()
            grade = data.get(f"ae-{i}-grade")
            details = data.get(f"ae-{i}-attribution") or data.get(f"ae-{i}-action")
            if not term and not other and grade is None and not details:
                continue  # a blank row; an attribution alone is not dropped silently
            listed = ctcae_term(term) if term else None
            if not term:
                self.add_error(f"ae-{i}-term", "Name the adverse event (CTCAE term).")
            elif listed is None:
                # Free text only as "other" (clasi.md 5.4): never a near-miss spelling.
                self.add_error(f"ae-{i}-term", not_a_ctcae_term(term))
            elif listed == AE_OTHER and not other:
                self.add_error(f"ae-{i}-other", "Describe the event: “other” needs its words.")
            else:
                data[f"ae-{i}-term"] = listed
            if grade is None:
                self.add_error(f"ae-{i}-grade", "Give the CTCAE grade (1-5).")
        return data

    def event_inputs(self) -> list[AdverseEventInput]:
        out = []
        for i in range(self.row_count):
            term = (self.cleaned_data.get(f"ae-{i}-term") or "").strip()
            grade = self.cleaned_data.get(f"ae-{i}-grade")
            if term and grade is not None:
                out.append(AdverseEventInput(
                    term=term, grade=grade,
                    term_other=(self.cleaned_data.get(f"ae-{i}-other") or "").strip() if term == AE_OTHER else "",
                    attribution=self.cleaned_data.get(f"ae-{i}-attribution") or "",
                    action=self.cleaned_data.get(f"ae-{i}-action") or "",
                ))
        return out

    @staticmethod
    def initial_from(events) -> dict:
        initial: dict = {}
        for i, event in enumerate(events):
            initial[f"ae-{i}-term"] = event.term
            initial[f"ae-{i}-other"] = event.term_other
            initial[f"ae-{i}-grade"] = str(event.grade)
            initial[f"ae-{i}-attribution"] = event.attribution
            initial[f"ae-{i}-action"] = event.action
        return initial


# -- courses, dose steps and interruptions -------------------------------------


def frequency_choices(drug: str | None = None) -> list[tuple[int, str]]:
    """The record's frequencies (clinical.drugs FREQUENCIES), the drug's usual ones first."""
    try:
        usual = drug_registry.get(drug).frequencies if drug else ()
    except drug_registry.UnknownDrug:
        usual = ()
    order = [*usual, *(days for days in FREQUENCIES if days not in usual)]
    return [(days, FREQUENCIES[days]) for days in order]


def dose_range_text(drug: str | None, *, short: bool = False) -> str:
    """The help under the dose: the drug's plausible single dose, refused outside it."""
    try:
        profile = drug_registry.get(drug or "")
    except drug_registry.UnknownDrug:
        return ""
    if profile.dose_mg is None:
        return "" if short else "One dose, in mg."
    low, high = (format(x.normalize(), "f") for x in profile.dose_mg)
    return f"{low}-{high}" if short else f"One dose, in mg: {low}-{high} mg for {profile.label.lower()}."


DRUG_CHOICES = [(key, profile.label) for key, profile in drug_registry.DRUGS.items()]


class DoseFields(forms.Form):
    mg = DecimalCommaField(label="Dose (mg)", min_value=Decimal("0.01"), max_digits=6,
                            decimal_places=2, widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}))
    every_days = forms.TypedChoiceField(label="How often", choices=frequency_choices(),
                                        coerce=int, initial=1)

    def __init__(self, *args, drug: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["every_days"].choices = frequency_choices(drug)
        self.fields["every_days"].initial = self.fields["every_days"].choices[0][0]
        self.fields["mg"].help_text = dose_range_text(drug)
        # The compact inline forms hide help texts: the range rides in the placeholder.
        self.fields["mg"].widget.attrs["placeholder"] = dose_range_text(drug, short=True)


class CourseStartForm(DoseFields):
    """A course of any registry drug: the drug (its name for `other`), the
    start and the first dose. Choosing a drug re-renders the form (htmx) so
    that its usual frequencies come first and its dose range is shown."""

    drug = forms.ChoiceField(label="Drug", choices=DRUG_CHOICES, initial="lenalidomide")
    drug_name = forms.CharField(label="Drug name (for other)", required=False, max_length=100,
                                help_text="Only when the drug is not in the list.")
    start = forms.DateField(validators=[validate_plausible], label="Start date", widget=DATE_WIDGET())
    field_order = ["drug", "drug_name", "start", "mg", "every_days"]

    def __init__(self, *args, live_url: str = "", **kwargs):
        data = args[0] if args else kwargs.get("data")
        initial = kwargs.get("initial") or {}
        drug = (data or {}).get("drug") or initial.get("drug") or "lenalidomide"
        super().__init__(*args, drug=drug, **kwargs)
        if live_url:
            # The select itself asks for the re-rendered fields: an htmx trigger
            # filter (change[...]) would need eval, which the CSP refuses. Target,
            # swap and what to send come from the fields' container (inherited).
            self.fields["drug"].widget.attrs.update({"hx-get": live_url, "hx-trigger": "change"})

    def clean(self):
        data = super().clean()
        # The record's rule (patients.services.drug_problems), beside its field.
        if data.get("drug"):
            for problem in drug_problems(data["drug"], data.get("drug_name") or ""):
                self.add_error(problem.field, problem.message[:1].upper() + problem.message[1:] + ".")
        return data


class DoseStepForm(DoseFields):
    date = forms.DateField(validators=[validate_plausible], label="From", widget=DATE_WIDGET())
    field_order = ["date", "mg", "every_days"]

    def __init__(self, *args, first: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if first:
            # The starting dose stays on the course start: correct the course to move it.
            self.fields["date"].disabled = True
            self.fields["date"].help_text = "The starting dose is given on the course start date."


class WithdrawForm(forms.Form):
    end = forms.DateField(validators=[validate_plausible], label="Withdrawal date", widget=DATE_WIDGET())
    stop_reason = forms.ChoiceField(label="Reason", choices=[("", "— choose —"), *StopReason.choices])


class InterruptionForm(forms.Form):
    """A hold within a course: neither a withdrawal nor a dose reduction."""

    start = forms.DateField(validators=[validate_plausible], label="Held from", widget=DATE_WIDGET())
    end = forms.DateField(validators=[validate_plausible], label="Resumed on", required=False,
                          widget=DATE_WIDGET(), help_text="Leave empty while still on hold.")
    reason = forms.CharField(label="Reason", required=False, max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": "e.g. neutropenia grade 3"}))


class ResumeForm(forms.Form):
    end = forms.DateField(validators=[validate_plausible], label="Resumed on", widget=DATE_WIDGET())


class CourseEditForm(forms.Form):
    start = forms.DateField(validators=[validate_plausible], label="Start date", widget=DATE_WIDGET())
    end = forms.DateField(validators=[validate_plausible], label="Withdrawal date", required=False,
                          widget=DATE_WIDGET(),
                          help_text="Leave empty while the course runs.")
    stop_reason = forms.ChoiceField(label="Reason", required=False,
                                    choices=[("", "— still running —"), *StopReason.choices])

    def clean(self):
        data = super().clean()
        if data.get("end") and not data.get("stop_reason"):
            self.add_error("stop_reason", "Give the reason the drug was stopped.")
        return data


class PatientSearchForm(forms.Form):
    """The patient list's filters; every field optional, bad values ignored."""

    q = forms.CharField(label="Find a patient", required=False, max_length=64,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Code or name",
                                                      "autocomplete": "off"}))
    on_lenalidomide = forms.BooleanField(label="On lenalidomide now", required=False)
    open_flag = forms.BooleanField(label="Needs attention", required=False)
    subtype = forms.ChoiceField(label="CLE subtype", required=False,
                                choices=[("", "Any subtype"), *CleSubtype.choices])
