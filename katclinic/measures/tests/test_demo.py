"""The demo builder of measures: deterministic histories and one open item-9 alert."""

from django.test import TestCase

from katclinic.demo.seed import build_demo
from katclinic.measures import demo
from katclinic.measures.models import Course, Response, SafetyAlert


def build() -> list[tuple[str, int | None]]:
    world = build_demo(seed=3, patients_per_clinic=8, histories=[demo.build])
    alert = SafetyAlert.objects.get()
    assert alert.patient.user == world.staff["patient"]  # noqa: S101
    return list(Response.objects.order_by("pk").values_list("instrument_key", "total"))


class DemoTest(TestCase):
    def test_treated_patients_get_courses_with_histories_and_one_open_alert(self) -> None:
        totals = build()
        treated = Course.objects.count()
        self.assertGreater(treated, 0)
        self.assertEqual(SafetyAlert.objects.get().state, "open")
        self.assertTrue(Course.objects.exclude(baseline=None).exists())
        self.assertGreater(len(totals), treated * 2 * 6)
