"""The portal's questionnaire card lists each due instrument once."""

from datetime import timedelta

from django.utils import timezone

from katclinic.measures import services
from katclinic.portal.cards import questionnaires_card
from katclinic.testing import ClinicTestCase


class DueQuestionnairesTest(ClinicTestCase):
    def invite(self, key: str, hours_ago: int) -> None:
        services.invite(
            patient=self.pat,
            instrument_key=key,
            by=self.paula,
            request=None,
            channel="portal",
            due_at=timezone.now() - timedelta(hours=hours_ago),
        )

    def test_two_schedules_asking_for_the_same_instrument_show_it_once(self) -> None:
        self.invite("phq9", 2)
        self.invite("phq9", 1)
        self.invite("gad7", 1)
        card = questionnaires_card(None, self.pat)  # type: ignore[arg-type]
        assert card is not None
        titles = [line.text for line in card.lines]
        self.assertEqual(len(titles), 2)
        self.assertEqual(len(set(titles)), 2)
