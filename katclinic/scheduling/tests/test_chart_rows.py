"""The chart's Appointments table, written in Python: the same characters as the template loop
it replaced, and the statements the tab runs."""

from __future__ import annotations

from datetime import timedelta

from django.template import Context, Template
from django.urls import reverse

from katclinic.protocols.tests import fixtures as plan_fixtures
from katclinic.scheduling.forms import StateForm
from katclinic.scheduling.models import Appointment, Chair, Room
from katclinic.scheduling.templatetags.scheduling_tables import appointment_rows
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase

# The loop the tab's template ran before its rows were written in Python.
TEMPLATE_LOOP = (
    "{% for a in appointments %}<tr><td><a href=\"{% url 'scheduling:appointment' a.pk %}\">"
    '{{ a.start|date:"Y-m-d H:i" }}</a></td><td>{{ a.get_kind_display }}</td>'
    "<td>{{ a.staff.full_name }}</td><td>{{ a.place }}</td>\n"
    '    <td><span class="badge">{{ a.get_state_display }}</span>{% if a.cancel_reason %} '
    '<span class="muted">{{ a.cancel_reason }}</span>{% endif %}</td>\n'
    "    {% if can_schedule %}<td>{% if a.state == 'booked' or a.state == 'confirmed' or "
    "a.state == 'checked_in' %}\n"
    '      <form method="post" action="{% url \'scheduling:appointment_state\' a.pk %}">'
    "{% csrf_token %}\n"
    '        <label for="state-{{ a.pk }}" class="visually-hidden">New state</label>\n'
    '        <select id="state-{{ a.pk }}" name="state">{% for value, label in '
    'state_form.fields.state.choices %}<option value="{{ value }}">{{ label }}</option>'
    "{% endfor %}</select>\n"
    '        <label for="reason-{{ a.pk }}" class="visually-hidden">Reason</label>'
    '<input id="reason-{{ a.pk }}" name="reason" placeholder="Reason (to cancel)">\n'
    '        <button type="submit">Apply</button></form>\n'
    "      <a href=\"{% url 'scheduling:move' a.pk %}\">Move</a> · "
    "<a href=\"{% url 'scheduling:appointment' a.pk %}\">Open</a>{% endif %}</td>{% endif %}"
    '</tr>\n  {% empty %}<tr><td colspan="6">No appointments.</td></tr>{% endfor %}'
)


class AppointmentRowsTest(ClinicTestCase):
    def setUp(self) -> None:
        chair = fixtures.chairs(self)[0]
        room = Room.objects.create(clinic=self.clinic, name='Room "A" <east> & co')
        Chair.objects.create(clinic=self.clinic, room=room, name="Chair 2")
        self.paula.full_name = "Dr. O'Brien <b>"
        self.paula.save()
        start = fixtures.at(self, 20, 9)
        places: list[dict[str, Room | Chair | None]] = [
            {"chair": chair},
            {"room": room},
            {},
        ]
        states = ["booked", "confirmed", "checked_in", "completed", "no_show", "cancelled"]
        for i, state in enumerate(states):
            Appointment.objects.create(
                clinic=self.clinic,
                patient=self.pat,
                kind="dosing" if "chair" in places[i % 3] else "consultation",
                staff=self.paula,
                start=start + timedelta(hours=i),
                end=start + timedelta(hours=i, minutes=30),
                state=state,
                cancel_reason="Patient <ill> & away" if state == "cancelled" else "",
                created_by=self.alice,
                **places[i % 3],
            )

    def listed(self) -> list[Appointment]:
        return list(
            Appointment.objects.filter(patient=self.pat)
            .select_related("staff", "room", "chair__room")
            .order_by("-start")
        )

    def test_the_rows_are_the_template_loops_characters(self) -> None:
        appointments = self.listed()
        self.assertEqual(len(appointments), 6)
        token = "t0k3n" * 12
        for can_schedule in (True, False):
            with self.subTest(can_schedule=can_schedule):
                expected = Template(TEMPLATE_LOOP).render(
                    Context(
                        {
                            "appointments": appointments,
                            "can_schedule": can_schedule,
                            "state_form": StateForm(),
                            "csrf_token": token,
                        }
                    )
                )
                got = appointment_rows(appointments, can_schedule=can_schedule, csrf_token=token)
                self.assertEqual(got, expected)
        self.assertIn("Patient &lt;ill&gt; &amp; away", got)
        self.assertIn("Dr. O&#x27;Brien &lt;b&gt;", got)
        self.assertIn("Room &quot;A&quot; &lt;east&gt; &amp; co", got)

    def test_no_appointments_is_the_templates_empty_row(self) -> None:
        expected = Template(TEMPLATE_LOOP).render(Context({"appointments": []}))
        self.assertEqual(appointment_rows([], can_schedule=True, csrf_token="x"), expected)

    def test_the_tab_shows_the_rows_with_a_fixed_number_of_statements(self) -> None:
        plan_fixtures.ready_clinic(self)
        self.login(self.alice)
        url = reverse("scheduling:patient_appointments", args=[self.pat.pk])
        self.client.get(url)
        # The session and user, memberships, the patient, the audit event, the active plans,
        # the appointments, and the booking form's staff, rooms and chairs (with their rooms,
        # not one statement per chair).
        with self.assertNumQueries(10):
            response = self.client.get(url)
        for appointment in Appointment.objects.filter(patient=self.pat):
            self.assertContains(response, f'href="/scheduling/appointments/{appointment.pk}/"')
        self.assertContains(response, 'id="state-')
        self.assertContains(response, "Patient &lt;ill&gt; &amp; away")
