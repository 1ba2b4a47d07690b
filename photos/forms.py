"""The upload rows (one photograph each) and the consent form."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from photos.models import ConsentLevel, PhotoConsent
from clinical.instruments.clasi import CLASI

AREA_CHOICES = [(area.key, area.label) for area in CLASI.areas]
ACCEPT = "image/jpeg,image/png,image/heic,image/heif,.jpg,.jpeg,.png,.heic,.heif"


class PhotoRowForm(forms.Form):
    file = forms.FileField(
        label="Photograph", required=False,
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        help_text="JPEG, PNG or HEIC; checked by its content, re-encoded, camera data removed.",
    )
    areas = forms.MultipleChoiceField(
        label="CLASI areas", choices=AREA_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "“%(value)s” is not a CLASI area; pick areas on the "
                                          "body map or from the list."},
    )
    caption = forms.CharField(label="Caption", max_length=300, required=False)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("file") or data.get("areas") or data.get("caption"))

    def clean(self):
        data = super().clean()
        if not data.get("file") and (data.get("areas") or data.get("caption")):
            self.add_error("file", "Choose the photograph these areas and caption describe.")
        return data


class PhotoEditForm(forms.Form):
    areas = forms.MultipleChoiceField(
        label="CLASI areas", choices=AREA_CHOICES, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one CLASI area this photograph shows.",
                        "invalid_choice": PhotoRowForm.base_fields["areas"].error_messages[
                            "invalid_choice"]},
    )
    caption = forms.CharField(label="Caption", max_length=300, required=False)


def row_forms(data=None, files=None, *, rows: int) -> list[PhotoRowForm]:
    return [
        PhotoRowForm(data, files, prefix=f"photo-{i}", auto_id="id_%s")
        for i in range(rows)
    ]


class ConsentForm(forms.ModelForm):
    class Meta:
        model = PhotoConsent
        fields = ["level", "given_on", "note"]
        widgets = {
            "level": forms.RadioSelect,
            "given_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        labels = {"level": "Photographic consent", "note": "Note (optional)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = ConsentLevel.choices
        # A new consent: its uuid pk is set before the save, so `not instance.pk` never
        # held and the required date stayed empty; _state.adding says "not saved yet".
        if self.instance._state.adding:
            self.initial.setdefault("given_on", timezone.localdate())
