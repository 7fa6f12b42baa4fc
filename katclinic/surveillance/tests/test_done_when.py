"""The issue's demo, end to end: the scheduled bladder screen reaches the patient's portal,
a yes opens a review task, and the prescriber records a decision on the review page."""

from __future__ import annotations

from django.urls import reverse

from katclinic.measures.models import Invitation
from katclinic.surveillance.jobs import run_surveillance
from katclinic.surveillance.models import ReviewKind, ReviewState, ReviewTask, TreatmentDecision
from katclinic.surveillance.tests.helpers import course, on, sublingual_plan
from katclinic.testing import ClinicTestCase


class DoneWhenTest(ClinicTestCase):
    def test_a_positive_bladder_screen_leads_to_a_recorded_decision(self) -> None:
        course(self.pat, self.paula)
        sublingual_plan(self.pat, self.paula)
        run_surveillance(on(self.pat, 28))
        invitation = Invitation.objects.get(patient=self.pat, instrument_key="bladder_screen")

        self.login(self.pat_user)
        answer = reverse("measures:my_answer", args=[invitation.pk])
        self.assertContains(self.client.get(answer), "blood in your urine")
        self.client.post(answer, {"q1": "0", "q2": "0", "q3": "1", "q4": "0", "q5": "0"})
        task = ReviewTask.objects.get(patient=self.pat)
        self.assertEqual((task.kind, task.state), (ReviewKind.POSITIVE_SCREEN, ReviewState.OPEN))

        self.login(self.paula)
        page = reverse("surveillance:review", args=[self.pat.pk])
        self.assertContains(self.client.get(page), "Pain passing urine or bladder pain")
        self.client.post(
            reverse("surveillance:decide", args=[self.pat.pk]),
            {
                "decision": "stop",
                "reason": "Bladder pain on repeated ketamine; urology referral",
                "close_open_tasks": "on",
            },
        )
        decision = TreatmentDecision.objects.get(patient=self.pat)
        self.assertEqual((decision.decision, decision.decided_by), ("stop", self.paula))
        task.refresh_from_db()
        self.assertEqual(task.state, ReviewState.CLOSED)
        self.assertContains(self.client.get(page), "urology referral")
