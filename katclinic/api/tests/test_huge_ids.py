"""An id too large for the database answers 404 on every API path, and the denial is recorded.

Ids in paths are unbounded integers; one past 2**63 once failed with a server error when the
denial was written to the audit trail.
"""

from __future__ import annotations

from django.urls import reverse

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.core.tests.test_access_matrix import specs_by_app
from katclinic.testing import ClinicTestCase

HUGE = 2**70


class HugeIdTest(ClinicTestCase):
    def test_every_api_path_with_an_id_answers_404(self) -> None:
        _, staff = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        _, patient = ApiToken.issue(
            user=self.pat_user, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        checked = 0
        for specs in specs_by_app().values():
            for name, spec in sorted(specs.items()):
                if not name.startswith("api:"):
                    continue
                kwargs = spec.kwargs(self)
                ids = [key for key in kwargs if key.endswith("_id")]
                for token in (staff, patient) if ids else ():
                    with self.subTest(url=name, who="staff" if token == staff else "patient"):
                        url = reverse(name, kwargs=kwargs | dict.fromkeys(ids, HUGE))
                        denials = AuditEvent.objects.filter(action=Action.DENIED).count()
                        headers = {"Authorization": f"Bearer {token}"}
                        if spec.method == "POST":
                            response = self.client.post(
                                url,
                                spec.data(self),
                                content_type="application/json",
                                headers=headers,
                            )
                        else:
                            response = self.client.get(url, headers=headers)
                        self.assertIn(response.status_code, (403, 404), url)
                        self.assertEqual(
                            AuditEvent.objects.filter(action=Action.DENIED).count(), denials + 1
                        )
                        checked += 1
        self.assertGreaterEqual(checked, 10)
