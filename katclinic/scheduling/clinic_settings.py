"""Scheduling settings: session lengths, reminders and online consultation requests."""

from decimal import Decimal

from katclinic.clinics.registry import define_bool, define_int, define_text

SESSIONS = "Scheduling: session lengths"
REMINDERS = "Scheduling: reminders"
REQUESTS = "Scheduling: online requests"
KAP_ARC = (
    "Ketamine-assisted psychotherapy: a dosing session lasts about 2-3 h, with preparation and "
    "integration sessions around it (Mathai DS et al., Front Psychol 2022;13:868103, "
    "https://doi.org/10.3389/fpsyg.2022.868103); the length booked is clinic policy."
)
OPERATIONAL = "Operational default, not a clinical figure; set by the clinic."

DOSING_MINUTES = define_int(
    key="scheduling_dosing_minutes",
    label="Length of a dosing session",
    default=180,
    unit="min",
    source=KAP_ARC + " It must hold the infusion plus the 120 min observation (SPRAVATO REMS, FDA, "
    "https://www.accessdata.fda.gov/scripts/cder/rems/index.cfm?event=IndvRemsDetails.page&REMS=386).",
    minimum=Decimal(30),
    maximum=Decimal(480),
    group=SESSIONS,
)
PREPARATION_MINUTES = define_int(
    key="scheduling_preparation_minutes",
    label="Length of a preparation session",
    default=60,
    unit="min",
    source=KAP_ARC,
    minimum=Decimal(15),
    maximum=Decimal(240),
    group=SESSIONS,
)
INTEGRATION_MINUTES = define_int(
    key="scheduling_integration_minutes",
    label="Length of an integration session",
    default=60,
    unit="min",
    source=KAP_ARC,
    minimum=Decimal(15),
    maximum=Decimal(240),
    group=SESSIONS,
)
VISIT_MINUTES = define_int(
    key="scheduling_visit_minutes",
    label="Length of a consultation, screening or follow-up visit",
    default=60,
    unit="min",
    source=OPERATIONAL,
    minimum=Decimal(15),
    maximum=Decimal(240),
    group=SESSIONS,
)
SLOT_MINUTES = define_int(
    key="scheduling_slot_minutes",
    label="Booking grid",
    default=30,
    unit="min",
    source=OPERATIONAL,
    minimum=Decimal(5),
    maximum=Decimal(120),
    group=SESSIONS,
)
REMINDER_OFFSETS_HOURS = define_text(
    key="scheduling_reminder_offsets_hours",
    label="Send reminders this many hours before (comma-separated)",
    default="48,2",
    source=OPERATIONAL,
    group=REMINDERS,
)
REMINDER_SMS = define_bool(
    key="scheduling_reminder_sms",
    label="Also send reminders by SMS",
    default=False,
    source=OPERATIONAL,
    group=REMINDERS,
)
REMINDER_MAX_ATTEMPTS = define_int(
    key="scheduling_reminder_max_attempts",
    label="Attempts before a reminder is marked failed",
    default=4,
    source=OPERATIONAL,
    minimum=Decimal(1),
    maximum=Decimal(10),
    group=REMINDERS,
)
ONLINE_REQUESTS = define_bool(
    key="scheduling_online_requests",
    label="Patients may request a consultation slot online",
    default=False,
    source=OPERATIONAL,
    group=REQUESTS,
)
FRONT_DESK_EMAIL = define_text(
    key="scheduling_front_desk_email",
    label="Where online consultation requests are sent",
    default="",
    source=OPERATIONAL,
    group=REQUESTS,
)
UNDO_MINUTES = define_int(
    key="scheduling.undo_minutes",
    label="Minutes during which a cancellation, completion or no-show can be undone",
    default=15,
    unit="min",
    source="Clinic policy: a workflow choice of the clinic, not a clinical figure.",
    minimum=Decimal(0),
    maximum=Decimal(1440),
    group=SESSIONS,
)

SELF_BOOKING = "Scheduling: booking from the portal"
ONLINE_BOOKING_KINDS = define_text(
    key="scheduling_online_booking_kinds",
    label="Visits patients may book themselves in the portal (comma-separated)",
    default="consultation,preparation,integration,follow_up",
    source=OPERATIONAL + " Names: consultation, screening, preparation, dosing, integration, "
    "follow_up. A dosing session is offered only at the times the patient's signed plan "
    "proposes.",
    group=SELF_BOOKING,
)
ONLINE_BOOKING_NOTICE_HOURS = define_int(
    key="scheduling_online_booking_notice_hours",
    label="Patients book at least this many hours ahead",
    default=24,
    unit="h",
    source=OPERATIONAL,
    minimum=Decimal(0),
    maximum=Decimal(720),
    group=SELF_BOOKING,
)
ONLINE_CANCEL_NOTICE_HOURS = define_int(
    key="scheduling_online_cancel_notice_hours",
    label="Patients may cancel or move a visit online up to this many hours before it",
    default=24,
    unit="h",
    source=OPERATIONAL,
    minimum=Decimal(0),
    maximum=Decimal(720),
    group=SELF_BOOKING,
)
