"""Every email, text and PDF a patient is given is in the language kept on their record.

pat reads Spanish and quinn English; each kind of message is checked for both, by the words
that only the right language has.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from katclinic.billing import documents
from katclinic.billing import services as billing
from katclinic.billing.tests.test_payments import PostedChargeCase, pdf_text
from katclinic.measures import services as measures
from katclinic.messaging import notify
from katclinic.messaging import services as messaging
from katclinic.outcomes.pdf import latin1
from katclinic.patients.models import Patient
from katclinic.scheduling import confirmations, reminders, services
from katclinic.scheduling.models import Appointment, Reminder, State
from katclinic.scheduling.sms import ConsoleSmsBackend
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase


def spanish_and_english(t: ClinicTestCase) -> tuple[Patient, Patient]:
    Patient.objects.filter(pk=t.pat.pk).update(preferred_language="es", email="pat@example.org")
    Patient.objects.filter(pk=t.quinn.pk).update(preferred_language="en", email="q@example.org")
    t.pat.refresh_from_db()
    t.quinn.refresh_from_db()
    return t.pat, t.quinn


class MessagesInThePatientsLanguageTest(ClinicTestCase):
    def setUp(self) -> None:
        self.es, self.en = spanish_and_english(self)
        fixtures.chairs(self)
        mail.outbox.clear()
        ConsoleSmsBackend.outbox.clear()

    def book(self, patient: Patient, kind: str = "integration") -> Appointment:
        start = fixtures.next_start(self)
        slot = services.Slot(self.tara, start, start + timedelta(minutes=30))
        with self.captureOnCommitCallbacks(execute=True):
            return services.book(patient=patient, kind=kind, slot=slot, by=self.alice)

    def test_booking_moving_and_cancelling_confirmations(self) -> None:
        spanish, english = self.book(self.es), self.book(self.en)
        self.assertEqual([m.to for m in mail.outbox], [[self.es.email], [self.en.email]])
        self.assertIn("Su cita de integración está reservada para el", mail.outbox[0].body)
        self.assertIn(" de 20", mail.outbox[0].body)  # "lunes 7 de diciembre de 2026"
        self.assertIn(" a las ", mail.outbox[0].body)
        self.assertIn("Your integration is booked for", mail.outbox[1].body)
        self.assertNotIn("Your", f"{mail.outbox[0].subject} {mail.outbox[0].body}")
        later = fixtures.next_start(self)
        with self.captureOnCommitCallbacks(execute=True):
            services.reschedule(
                appointment=spanish,
                slot=services.Slot(self.tara, later, later + timedelta(minutes=30)),
                by=self.alice,
            )
            services.set_state(
                appointment=english, state=State.CANCELLED, by=self.alice, reason="Ill"
            )
        self.assertEqual(mail.outbox[2].subject, f"Su cita ha cambiado: {self.clinic.name}")
        self.assertEqual(
            mail.outbox[3].subject, f"Your appointment is cancelled: {self.clinic.name}"
        )
        for what in (confirmations.CANCELLED, confirmations.RESTORED):
            subject, body = confirmations.message(spanish, what)
            self.assertTrue(subject.startswith("Su cita"), subject)
            self.assertIn("Para cambiarla o cancelarla, llame al", body)
        _, schedule = confirmations.schedule_message([spanish])
        self.assertIn("Estas citas están reservadas para usted:", schedule)

    def test_reminders_by_email_and_text(self) -> None:
        for patient, words, reply, subject in (
            (
                self.es,
                "Le recordamos su cita de integración",
                "Responda C para",
                "Recordatorio: su",
            ),
            (self.en, "This is a reminder of your integration", "Reply C to", "Reminder: your"),
        ):
            visit = self.book(patient)
            for channel in ("email", "sms"):
                reminder = Reminder.objects.create(
                    clinic=self.clinic,
                    appointment=visit,
                    channel=channel,
                    send_at=timezone.now(),
                    next_attempt_at=timezone.now(),
                )
                reminders.deliver(reminder)
            self.assertIn(words, mail.outbox[-1].body)
            self.assertIn(words, ConsoleSmsBackend.outbox[-1].body)
            self.assertIn(reply, ConsoleSmsBackend.outbox[-1].body)
            self.assertTrue(mail.outbox[-1].subject.startswith(subject), mail.outbox[-1].subject)

    def test_questionnaire_links(self) -> None:
        for patient, words in (
            (self.es, "le pide que responda un breve cuestionario"),
            (self.en, "asks you to answer a short questionnaire"),
        ):
            invitation = measures.invite(
                patient=patient,
                instrument_key="phq9",
                by=self.paula,
                request=None,
                channel="portal",
            )
            self.assertTrue(measures.email_invitation(invitation, reminder=True))
            self.assertIn(words, mail.outbox[-1].body)
        self.assertIn("Recordatorio:", mail.outbox[-2].body)
        self.assertIn("El enlace funciona una sola vez", mail.outbox[-2].body)
        self.assertEqual(mail.outbox[-2].subject, f"{self.clinic.name}: un cuestionario para usted")

    def test_message_waiting_notifications(self) -> None:
        for patient in (self.es, self.en):
            with self.captureOnCommitCallbacks(execute=True):
                messaging.start_thread(
                    request=None, by=self.tara, patient=patient, subject="Hola", body="Hello"
                )
        spanish, english = mail.outbox[-2], mail.outbox[-1]
        self.assertEqual(spanish.subject, "Tiene un nuevo mensaje seguro")
        self.assertIn("Inicie sesión para leerlo", spanish.body)
        self.assertEqual(english.subject, "You have a new secure message")
        thread = self.es.threads.get()
        subject, _, text = notify.patient_texts(thread.messages.get())
        self.assertEqual(subject, "You have a new secure message")  # outside: the caller's
        self.assertIn("new secure message is waiting", text)

    def test_payment_links_and_receipts(self) -> None:
        for patient, words in (
            (self.es, "le ha enviado un enlace de pago seguro por $12.00 (Depósito)"),
            (self.en, "has sent you a secure payment link for $12.00 (Deposit)"),
        ):
            with self.captureOnCommitCallbacks(execute=True):
                billing.send_payment_link(patient=patient, amount_cents=1200, by=self.alice)
            self.assertIn(words, mail.outbox[-1].body)
        self.assertEqual(mail.outbox[-2].subject, f"Enlace de pago de {self.clinic.name}")
        for patient, received in ((self.es, b"Recibido de: "), (self.en, b"Received from: ")):
            paid = billing.record_payment(
                patient=patient, amount_cents=5000, method="cash", by=self.alice
            )
            self.assertIn(received, pdf_text(documents.receipt_pdf(paid)))
        self.assertNotIn(b"Recibo", pdf_text(documents.receipt_pdf(paid)))

    def test_portal_invitations(self) -> None:
        self.login(self.alice)
        for first, language, words in (
            ("Ana", "es", "crear una contraseña para su nueva cuenta del portal"),
            ("Ann", "en", "set a password for your new patient portal account"),
        ):
            patient = self.make_patient(
                self.clinic, first, "Lee", f"K9{first}", preferred_language=language
            )
            self.client.post(
                f"/portal/patients/{patient.pk}/invite/", {"email": f"{first}@example.org"}
            )
            self.assertIn(words, mail.outbox[-1].body)
        self.assertIn("Funciona una sola vez y durante", mail.outbox[-2].body)
        self.assertEqual(mail.outbox[-2].subject, f"{self.clinic.name}: portal del paciente")

    def test_the_portal_record_pdf(self) -> None:
        for patient, user, words in (
            (self.es, self.pat_user, "Sobre usted"),
            (self.en, self.quinn_user, "About you"),
        ):
            self.login(user)
            response = self.client.get(f"/portal/{patient.pk}/record.pdf")
            self.assertEqual(response.status_code, 200)
            self.assertIn(latin1(words).encode(), pdf_text(response.content))


class SuperbillLanguageTest(PostedChargeCase):
    def test_the_superbill_follows_the_patients_language(self) -> None:
        english = pdf_text(documents.superbill_for_patient(self.charge))
        self.assertIn(b"Total charged:", english)
        Patient.objects.filter(pk=self.pat.pk).update(preferred_language="es")
        self.charge.patient.refresh_from_db()
        spanish = pdf_text(documents.superbill_for_patient(self.charge))
        self.assertIn(b"Total cobrado:", spanish)
        self.assertIn(latin1("Diagnósticos (ICD-10-CM):").encode(), spanish)
        self.assertNotIn(b"Total charged:", spanish)
        # Codes and amounts are the same in every language.
        for line in self.charge.lines.all():
            self.assertIn(line.code.code.encode(), spanish)
