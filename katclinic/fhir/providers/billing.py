"""ChargeItem: charge lines (not reversals), searched by patient, date of service and code."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from katclinic.billing.models import ChargeLine
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import ResourceType, date_param, register, token_param
from katclinic.fhir.resources.charge_item import to_fhir_charge_item
from katclinic.insurance.models import ClaimLine, ClaimStatus

# A claim in these states has gone to the payer: its lines are billed.
SENT = (ClaimStatus.SENT, ClaimStatus.ACCEPTED, ClaimStatus.PAID, ClaimStatus.DENIED)


def _rows(clinic: Clinic) -> QuerySet[ChargeLine]:
    reversals = ChargeLine.objects.filter(reverses=OuterRef("pk"))
    claimed = ClaimLine.objects.filter(charge_line=OuterRef("pk"), claim__status__in=SENT)
    return (
        ChargeLine.objects.filter(clinic=clinic, reverses__isnull=True)
        .annotate(
            patient_id=F("charge__patient_id"),
            is_reversed=Exists(reversals),
            is_claimed=Exists(claimed),
        )
        .select_related("charge", "code")
        .order_by("-charge__date_of_service", "-pk")
    )


CHARGE_ITEM = register(
    ResourceType(
        name="ChargeItem",
        perm=Perm.VIEW_BILLING,
        rows=_rows,
        render=to_fhir_charge_item,
        params=(
            date_param(
                "occurrence", "charge__date_of_service", "The date of service", as_dates=True
            ),
            token_param(
                "code",
                "The HCPCS or CPT code, e.g. J0013",
                lambda system, code: Q(code__code=code.upper()),
            ),
        ),
        documentation="Charges from completed sessions: planned until posted, then billable, "
        "billed once on a claim sent to the payer, aborted when reversed. Prices are on the "
        "superbill and the Claim.",
    )
)
