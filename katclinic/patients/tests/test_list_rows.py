"""The patient list's rows, written in Python: the same characters as the template loop they
replaced, in English and in Spanish, and the empty list's message."""

from __future__ import annotations

from django.template import Context, Template
from django.utils import translation

from katclinic.patients.models import Patient
from katclinic.patients.templatetags.patient_tables import patient_rows
from katclinic.testing import ClinicTestCase

# The loop the list's template ran before its rows were written in Python.
TEMPLATE_LOOP = (
    "{% for p in patients %}\n"
    "    <tr><td><a href=\"{% url 'patients:chart' p.pk %}\">{{ p.last_name }}, "
    '{{ p.first_name }}</a></td><td>{{ p.mrn }}</td><td>{{ p.date_of_birth|date:"Y-m-d" }}'
    '</td><td><span class="badge">{{ p.get_stage_display }}</span></td>'
    '<td class="optional">{{ p.phone }}</td></tr>\n'
    "  {% endfor %}"
)


class PatientRowsTest(ClinicTestCase):
    def test_the_rows_are_the_template_loops_characters(self) -> None:
        odd = self.make_patient(self.clinic, "Ann & <Jo>", 'O\'Hara "Q"', "K0009<9>")
        Patient.objects.filter(pk=odd.pk).update(
            phone="555 <0111> & 'x'", stage=Patient.Stage.INDUCTION
        )
        patients = list(Patient.objects.for_clinic(self.clinic).order_by("pk"))
        self.assertEqual(len(patients), 3)
        for language in ("en", "es"):
            with self.subTest(language=language), translation.override(language):
                expected = Template(TEMPLATE_LOOP).render(Context({"patients": patients}))
                self.assertEqual(patient_rows(patients), expected)
        got = patient_rows(patients)
        self.assertIn("O&#x27;Hara &quot;Q&quot;, Ann &amp; &lt;Jo&gt;", got)
        self.assertIn("555 &lt;0111&gt; &amp; &#x27;x&#x27;", got)

    def test_an_empty_list_says_why(self) -> None:
        self.login(self.alice)
        response = self.client.get("/patients/", {"q": "nobody-like-this"})
        self.assertContains(response, "No patient matches “nobody-like-this”.")
        self.assertNotContains(response, '<td class="optional">')
        response = self.client.get("/patients/", {"stage": "declined"})
        self.assertContains(response, "No patient is at this stage.")
