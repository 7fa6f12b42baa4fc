"""A production server with no SMS provider refuses to send texts, instead of writing
phone numbers and message text into its log (review finding)."""

import logging

from django.test import SimpleTestCase, override_settings

from katclinic.scheduling import sms


class NoProviderTest(SimpleTestCase):
    @override_settings(DEBUG=False, TESTING=False, DEMO_MODE=False)
    def test_production_without_a_provider_refuses_and_logs_nothing(self) -> None:
        sms.ConsoleSmsBackend.outbox.clear()
        with self.assertRaisesMessage(sms.SmsError, "no SMS provider is configured"):
            with self.assertNoLogs("katclinic.scheduling.sms", level=logging.INFO):
                sms.get_backend().send(to="555-0101", body="Your infusion is tomorrow")
        self.assertEqual(sms.ConsoleSmsBackend.outbox, [])

    @override_settings(DEBUG=False, TESTING=False, DEMO_MODE=True)
    def test_the_demo_keeps_its_console_backend(self) -> None:
        self.assertIsInstance(sms.get_backend(), sms.ConsoleSmsBackend)
