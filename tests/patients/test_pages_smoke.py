import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_patient_pages_render_for_a_clinician(client_a, patient_a, course_a):
    assert client_a.get(reverse("patients:list")).status_code == 200
    page = client_a.get(reverse("patients:detail", args=[patient_a.pk]))
    assert page.status_code == 200
    assert b"SYN-001" in page.content
    assert client_a.get(reverse("patients:edit", args=[patient_a.pk])).status_code == 200
    assert client_a.get(reverse("patients:history", args=[patient_a.pk])).status_code == 200
