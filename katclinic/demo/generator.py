"""A realistic demo clinic network, reproducible from a seed, and scalable for benchmarks.

`build_base()` makes one organization with two clinics, staff for every role (with
known TOTP secrets, flagged as demo accounts) and patients at every stage of care.
`katclinic.demo.seed.build_demo` adds each app's part of their history on top.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from katclinic.accounts.models import TotpDevice, User
from katclinic.clinics.models import Clinic, Organization, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.patients.models import Allergy, Diagnosis, Medication, Patient, WeightReading

DEMO_PASSWORD = "kat-demo-passphrase"  # noqa: S105 - printed by `make run`; demo accounts only
DEMO_DOMAIN = "demo.katclinic.test"

FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jonah",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Samir",
    "Tessa",
    "Umar",
    "Vera",
    "Wes",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aaron",
    "Bianca",
    "Caleb",
    "Dana",
]
LAST = [
    "Abbott",
    "Baker",
    "Castillo",
    "Dubois",
    "Ellis",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ibarra",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zimmer",
]
PRONOUNS = ["she/her", "he/him", "they/them", ""]
DIAGNOSES = [
    ("F33.2", "Major depressive disorder, recurrent, severe without psychotic features"),
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F32.2", "Major depressive disorder, single episode, severe without psychotic features"),
]
COMORBID = [
    ("F41.1", "Generalized anxiety disorder"),
    ("F43.10", "Post-traumatic stress disorder, unspecified"),
]
MEDICATIONS = [
    ("Sertraline", "150 mg daily", {}),
    ("Bupropion XL", "300 mg daily", {}),
    ("Venlafaxine XR", "225 mg daily", {}),
    ("Lorazepam", "0.5 mg as needed", {"is_benzodiazepine": True}),
    ("Methylphenidate", "20 mg daily", {"is_psychostimulant": True}),
    ("Phenelzine", "45 mg daily", {"is_maoi": True}),
    ("Quetiapine", "50 mg at night", {"is_cns_depressant": True}),
    ("Lithium carbonate", "600 mg daily", {}),
]
ALLERGIES = [("Penicillin", "rash"), ("Sulfonamides", "hives"), ("Latex", "contact dermatitis")]
# Share of patients at each stage in a small clinic running a KAT program.
STAGES = [
    ("inquiry", 4),
    ("screening", 5),
    ("induction", 6),
    ("maintenance", 5),
    ("completed", 3),
    ("declined", 2),
]


@dataclass
class DemoWorld:
    organization: Organization
    clinics: list[Clinic]
    staff: dict[str, User] = field(default_factory=dict)
    patients: list[Patient] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)


def demo_totp_secret(email: str) -> str:
    """A stable TOTP secret per demo email, so the demo's codes survive a re-seed."""
    digest = hashlib.sha256(f"katclinic-demo:{email}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def make_staff(
    email: str,
    name: str,
    roles: dict[Clinic, list[Role]],
    password_hash: str,
    *,
    family_name: str = "",
) -> User:
    user = User.objects.create(
        email=email,
        full_name=name,
        family_name=family_name,
        kind=User.Kind.STAFF,
        is_demo=True,
        password=password_hash,
    )
    TotpDevice.objects.create(
        user=user, secret=demo_totp_secret(email), confirmed_at=timezone.now()
    )
    StaffMembership.objects.bulk_create(
        StaffMembership(user=user, clinic=clinic, role=role)
        for clinic, names in roles.items()
        for role in names
    )
    return user


def _staff(world: DemoWorld) -> None:
    north, south = world.clinics
    password_hash = make_password(DEMO_PASSWORD)
    # (key, full name, family name, roles): the family name as each person gives it.
    people = [
        ("admin", "Alex Admin", "Admin", {north: [Role.ADMIN]}),
        (
            "prescriber",
            "Dr. Priya Shah",
            "Shah",
            {north: [Role.PRESCRIBER], south: [Role.PRESCRIBER]},
        ),
        ("nurse", "Nina Okafor, RN", "Okafor", {north: [Role.NURSE]}),
        ("therapist", "Theo Grant, LCSW", "Grant", {north: [Role.THERAPIST]}),
        ("frontdesk", "Fran Delgado", "Delgado", {north: [Role.FRONT_DESK]}),
        (
            "director",
            "Dr. Morgan Lee",
            "Lee",
            {north: [Role.PRESCRIBER, Role.ADMIN], south: [Role.PRESCRIBER, Role.ADMIN]},
        ),
        ("south.nurse", "Sam Rivera, RN", "Rivera", {south: [Role.NURSE]}),
    ]
    for key, name, family_name, roles in people:
        world.staff[key] = make_staff(
            f"{key}@{DEMO_DOMAIN}", name, roles, password_hash, family_name=family_name
        )


def _patient_rows(world: DemoWorld, clinic: Clinic, count: int, start_number: int) -> list[Patient]:
    rng = world.rng
    today = timezone.localdate()
    weights = [stage for stage, share in STAGES for _ in range(share)]
    rows = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        born = today - timedelta(days=rng.randint(19 * 365, 78 * 365))
        rows.append(
            Patient(
                clinic=clinic,
                mrn=f"K{start_number + i:06d}",
                first_name=first,
                last_name=last,
                pronouns=rng.choice(PRONOUNS),
                date_of_birth=born,
                sex_at_birth=rng.choice([Patient.Sex.FEMALE, Patient.Sex.MALE]),
                email=f"{first}.{last}.{start_number + i}@example.com".lower(),
                phone=f"555-01{rng.randint(0, 99):02d}",
                address=f"{rng.randint(1, 999)} Elm Street\nSpringfield",
                emergency_contact_name=f"{rng.choice(FIRST)} {last}",
                emergency_contact_phone=f"555-02{rng.randint(0, 99):02d}",
                emergency_contact_relationship=rng.choice(
                    ["partner", "parent", "sibling", "friend"]
                ),
                stage=rng.choice(weights),
                responsible_clinician=world.staff["prescriber"],
            )
        )
    return Patient.objects.bulk_create(rows, batch_size=1000)


def _weights(
    rng: random.Random, p: Patient, common: dict[str, object], today: date
) -> list[WeightReading]:
    """A weight at intake and, once past inquiry, one from six months before."""
    kg = Decimal(rng.randint(500, 1100)) / 10
    return [
        WeightReading(
            **common,
            measured_on=today - timedelta(days=30 * months_ago + rng.randint(0, 20)),
            weight_kg=kg,
            entered_value=kg,
            entered_unit="kg",
        )
        for months_ago in ((6, 0) if p.stage != "inquiry" else (0,))
    ]


def _diagnoses(rng: random.Random, common: dict[str, object]) -> list[Diagnosis]:
    code, text = rng.choice(DIAGNOSES)
    found = [Diagnosis(**common, icd10_code=code, description=text, is_primary=True)]
    if rng.random() < 0.4:
        code, text = rng.choice(COMORBID)
        found.append(Diagnosis(**common, icd10_code=code, description=text))
    return found


def _medications(rng: random.Random, common: dict[str, object], today: date) -> list[Medication]:
    return [
        Medication(
            **common,
            name=name,
            dose=dose,
            started_on=today - timedelta(days=rng.randint(60, 900)),
            **flags,
        )
        for name, dose, flags in rng.sample(MEDICATIONS, rng.randint(1, 3))
    ]


def _clinical_rows(world: DemoWorld, patients: list[Patient]) -> None:
    rng = world.rng
    nurse = world.staff["nurse"]
    today = timezone.localdate()
    weights: list[WeightReading] = []
    meds: list[Medication] = []
    allergies: list[Allergy] = []
    dx: list[Diagnosis] = []
    for p in patients:
        common: dict[str, object] = {"clinic_id": p.clinic_id, "patient": p, "recorded_by": nurse}
        weights += _weights(rng, p, common, today)
        dx += _diagnoses(rng, common)
        meds += _medications(rng, common, today)
        if rng.random() < 0.25:
            substance, reaction = rng.choice(ALLERGIES)
            allergies.append(
                Allergy(**common, substance=substance, reaction=reaction, severity="moderate")
            )
    WeightReading.objects.bulk_create(weights, batch_size=2000)
    Diagnosis.objects.bulk_create(dx, batch_size=2000)
    Medication.objects.bulk_create(meds, batch_size=2000)
    Allergy.objects.bulk_create(allergies, batch_size=2000)


def _portal_accounts(world: DemoWorld) -> None:
    password_hash = make_password(DEMO_PASSWORD)
    # "paciente" reads the portal, emails and texts in Spanish.
    accounts = (
        ("patient", world.patients[0], "en"),
        ("patient2", world.patients[1], "en"),
        ("paciente", world.patients[2], "es"),
    )
    for key, patient, language in accounts:
        user = User.objects.create(
            email=f"{key}@{DEMO_DOMAIN}",
            full_name=patient.full_name,
            kind=User.Kind.PATIENT,
            is_demo=True,
            password=password_hash,
        )
        patient.user = user
        patient.stage = Patient.Stage.INDUCTION
        patient.preferred_language = language
        patient.save(update_fields=["user", "stage", "preferred_language"])
        world.staff[key] = user


def build_base(*, seed: int = 7, patients_per_clinic: int = 20) -> DemoWorld:
    """The clinic network, its staff, patients with charts and portal accounts; each app's
    history is added on top by `katclinic.demo.seed.build_demo`."""
    organization = Organization.objects.create(name="Riverbend Mental Health")
    north = Clinic.objects.create(
        organization=organization,
        name="Riverbend North",
        slug="riverbend-north",
        timezone="America/New_York",
        address="100 River Road, Springfield",
        phone="555-0100",
        email="north@riverbend.example",
        opening_hours={d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        after_hours_rule="Page the on-call psychiatrist at 555-0199; if unreachable within 15 minutes, call 911.",
        crisis_resources="If you are in danger now, call 911. Call or text 988 (Suicide & Crisis Lifeline), any time.",
    )
    south = Clinic.objects.create(
        organization=organization,
        name="Riverbend South",
        slug="riverbend-south",
        timezone="America/New_York",
        address="12 Harbor Street, Springfield",
        phone="555-0200",
        opening_hours={d: ["09:00", "17:00"] for d in ("mon", "wed", "fri")},
        after_hours_rule="Page the on-call psychiatrist at 555-0199.",
        crisis_resources="If you are in danger now, call 911. Call or text 988 (Suicide & Crisis Lifeline), any time.",
    )
    world = DemoWorld(organization=organization, clinics=[north, south], rng=random.Random(seed))
    _staff(world)
    for index, clinic in enumerate(world.clinics):
        world.patients += _patient_rows(world, clinic, patients_per_clinic, 1 + index * 1_000_000)
    _clinical_rows(world, world.patients)
    _portal_accounts(world)
    return world


def demo_logins() -> list[tuple[str, str]]:
    """(email, what the account is) for every demo account, for `make run` to print."""
    rows = []
    for user in User.objects.filter(is_demo=True).order_by("kind", "email"):
        if user.is_staff_member:
            roles = sorted({m.get_role_display() for m in user.memberships.all()})
            clinics = sorted({m.clinic.name for m in user.memberships.select_related("clinic")})
            rows.append((user.email, f"{', '.join(roles)} at {', '.join(clinics)}"))
        else:
            rows.append((user.email, "patient portal"))
    return rows
