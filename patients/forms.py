"""Forms of the record; messages name the field they concern."""

from __future__ import annotations

from django import forms

from patients.models import CleSubtype, Patient


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
            "reproductive_potential", "note",
        ]
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "sle_diagnosed": forms.DateInput(attrs={"type": "date"}),
            "note": forms.Textarea(attrs={"rows": 3}),
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

    def validate_unique(self):
        # Uniqueness of the code within the clinic is checked by the service,
        # which knows the clinic; the model form does not.
        pass
