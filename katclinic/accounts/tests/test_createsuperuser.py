import io

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase

from katclinic.accounts.models import User


class CreateSuperuserTest(TestCase):
    def test_points_at_setup_clinic_and_creates_nothing(self) -> None:
        with self.assertRaisesMessage(CommandError, "setup_clinic"):
            call_command(
                "createsuperuser", "--noinput", "--email=a@b.example", stdout=io.StringIO()
            )
        self.assertFalse(User.objects.exists())
