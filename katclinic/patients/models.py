from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connections, models
from django.db.models import F, Q, Value
from django.db.models.functions import Replace
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.lib import rows

# A search made only of these characters, with at least this many digits, is a phone number.
PHONE_CHARACTERS = frozenset("0123456789 +-().")
PHONE_SEARCH_MIN_DIGITS = 4
# SQLite's trigram table (migration 0004) finds substrings of at least this many characters.
TRIGRAM_LENGTH = 3
# The name columns of that table (besides mrn, email, phone_digits and date_of_birth).
NAME_COLUMNS = frozenset({"first_name", "last_name", "preferred_name"})
SEARCH_CANDIDATES_SQL = (
    "SELECT rowid FROM patients_patient_search WHERE patients_patient_search MATCH %s"
)


def _digits_only(field: str) -> Replace:
    """The field with the punctuation people type in phone numbers removed, in SQL."""
    expression = Replace(F(field), Value(" "), Value(""))
    for character in "+-().":
        expression = Replace(expression, Value(character), Value(""))
    return expression


def _phrase(columns: str, text: str) -> str:
    """An FTS5 phrase (everything in it literal) searched for in ``columns``."""
    return f'{columns} : "{text.replace('"', '""')}"'


@dataclass(frozen=True)
class _SearchTerms:
    """What one search text asks for, written once for the rule and for the index."""

    text: str
    words: tuple[str, ...]
    born: date | None
    email: bool
    phone_digits: str | None

    @classmethod
    def of(cls, raw: str) -> _SearchTerms | None:
        text = raw.strip()
        if not text:
            return None
        try:
            born: date | None = date.fromisoformat(text)
        except ValueError:
            born = None
        digits = "".join(c for c in text if c in "0123456789")
        is_phone = len(digits) >= PHONE_SEARCH_MIN_DIGITS and set(text) <= PHONE_CHARACTERS
        return cls(text, tuple(text.split()), born, "@" in text, digits if is_phone else None)

    def apply(self, patients: PatientQuerySet) -> PatientQuerySet:
        """The rule: rows whose record number or email is the text, whose first or last
        name starts with one of its words (case aside), born on its date, or whose phone
        holds its digits."""
        query = Q(mrn__iexact=self.text)
        for word in self.words:
            query |= Q(last_name__istartswith=word) | Q(first_name__istartswith=word)
        if self.born is not None:
            query |= Q(date_of_birth=self.born)
        if self.email:
            query |= Q(email__iexact=self.text)
        if self.phone_digits is not None:
            return patients.annotate(phone_digits=_digits_only("phone")).filter(
                query | Q(phone_digits__contains=self.phone_digits)
            )
        return patients.filter(query)

    def index_match(self) -> str | None:
        """An FTS5 query for the trigram table finding every row the rule can match (and
        perhaps more), or None when a term is shorter than a trigram."""
        if any(len(word) < TRIGRAM_LENGTH for word in self.words):
            return None  # the text itself is then at least as long as its longest word
        phrases = [_phrase("mrn", self.text)]
        phrases += [_phrase("{first_name last_name}", word) for word in self.words]
        if self.born is not None:
            phrases.append(_phrase("date_of_birth", self.born.isoformat()))
        if self.email:
            phrases.append(_phrase("email", self.text))
        if self.phone_digits is not None:
            phrases.append(_phrase("phone_digits", self.phone_digits))
        return " OR ".join(phrases)


class PatientQuerySet(models.QuerySet["Patient"]):
    def for_clinic(self, clinic: Clinic) -> PatientQuerySet:
        return self.filter(clinic=clinic)

    def matching(self, text: str) -> PatientQuerySet:
        """The search rule alone (see ``search``), tested against every row it is given."""
        terms = _SearchTerms.of(text)
        return self if terms is None else terms.apply(self)

    def search(self, text: str) -> PatientQuerySet:
        """Match name, record number, date of birth (YYYY-MM-DD), email or phone number.

        A phone number matches whatever punctuation it was typed or stored with: both sides
        are compared as digits only, so "(555) 010-4477" finds "555-010-4477".

        The rule is ``matching``'s; the rows it is tested against come from an index that
        matches the query, so a search does not read the whole clinic: on PostgreSQL the
        trigram indexes on the very expressions the rule compares (migration 0004), on
        SQLite the trigram table kept by triggers, whose candidates (a superset: substrings,
        folded case) are then held to the rule. Where a term is too short for trigrams the
        rule alone is applied, with the same result.
        """
        terms = _SearchTerms.of(text)
        if terms is None:
            return self
        found = terms.apply(self)
        match = terms.index_match()
        if match is not None and connections[self.db].vendor == "sqlite":
            found = found.filter(pk__in=rows.subquery(SEARCH_CANDIDATES_SQL, [match]))
        return found

    def names_starting(
        self, fields: Sequence[str], values: Sequence[str], *, indexed: bool = True
    ) -> PatientQuerySet:
        """Rows where one of the name ``fields`` starts with one of ``values``, case aside
        (FHIR string search). Like ``search``, candidates come from the trigram table on
        SQLite when every value is long enough (``indexed=False``: the rule alone)."""
        unknown = set(fields) - NAME_COLUMNS
        if unknown:
            raise ValueError(f"the trigram table has no columns {sorted(unknown)}")
        query = Q(pk__in=[])
        for value in values:
            for name in fields:
                query |= Q(**{f"{name}__istartswith": value})
        found = self.filter(query)
        if (
            indexed
            and values
            and all(len(value) >= TRIGRAM_LENGTH for value in values)
            and connections[self.db].vendor == "sqlite"
        ):
            columns = "{" + " ".join(fields) + "}"
            match = " OR ".join(_phrase(columns, value) for value in values)
            found = found.filter(pk__in=rows.subquery(SEARCH_CANDIDATES_SQL, [match]))
        return found

    def fetch(
        self, pk: int | str, *, clinic_id: int | None = None, user_id: int | None = None
    ) -> Patient | None:
        """``filter(pk=pk, clinic_id=...)`` (or ``user_id=...``) ``.first()`` as one plain query:
        every chart page and patient API call starts here (see katclinic.lib.rows)."""
        if (clinic_id is None) == (user_id is None):
            raise ValueError("fetch a patient by its clinic or by its portal user, not both")
        if self.query.has_filters():
            raise TypeError("fetch() reads from Patient.objects, not from a filtered queryset")
        try:
            key = int(pk)  # regex routes pass the id as text
        except (TypeError, ValueError):
            return None
        if not -(2**63) <= key < 2**63:
            return None
        column, value = ("clinic_id", clinic_id) if clinic_id is not None else ("user_id", user_id)
        sql = f"SELECT {rows.columns(Patient, 'p')} FROM {rows.table(Patient)} p WHERE p.id = %s AND p.{column} = %s"  # noqa: S608
        row = rows.fetch_one(Patient, sql, [key, value])
        return rows.hydrate(Patient, row) if row is not None else None


class Patient(models.Model):
    class Stage(models.TextChoices):
        INQUIRY = "inquiry", "New inquiry"
        SCREENING = "screening", "Screening"
        INDUCTION = "induction", "Induction"
        MAINTENANCE = "maintenance", "Maintenance"
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Declined"

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("record number", max_length=20)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    pronouns = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Every page the patient sees signed in, and every email, text and PDF sent to them.
    preferred_language = models.CharField(
        "language", max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    address = models.TextField(blank=True)
    # What an imported record said in more detail than the fields above keep: the given
    # names one by one, the address by part, other systems' identifiers, and race and
    # ethnicity as the US Core extensions code them (katclinic.fhir.resources.patient).
    # The names and address parts are served only while first_name and address still read
    # as they did on import, so an edit on the chart is never contradicted by an old copy.
    given_names = models.JSONField(default=list, blank=True)
    address_parts = models.JSONField(default=dict, blank=True)
    identifiers = models.JSONField(default=list, blank=True)
    race = models.JSONField(default=dict, blank=True)
    ethnicity = models.JSONField(default=dict, blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.INQUIRY)
    responsible_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_for",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = PatientQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["clinic", "mrn"], name="patient_mrn_unique_per_clinic"),
            models.CheckConstraint(
                condition=Q(
                    stage__in=[
                        "inquiry",
                        "screening",
                        "induction",
                        "maintenance",
                        "completed",
                        "declined",
                    ]
                ),
                name="patient_stage_valid",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["clinic", "last_name", "first_name"]),
            models.Index(fields=["clinic", "date_of_birth"]),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class PatientRecord(models.Model):
    """Common columns of rows that belong to one patient in one clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class WeightReading(PatientRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="weights")
    measured_on = models.DateField()
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("20")), MaxValueValidator(Decimal("400"))],
    )
    entered_value = models.DecimalField(max_digits=6, decimal_places=1)
    entered_unit = models.CharField(max_length=2, choices=[("kg", "kg"), ("lb", "lb")])

    class Meta:
        ordering: ClassVar = ["-measured_on", "-recorded_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(weight_kg__gte=20, weight_kg__lte=400), name="weight_kg_plausible"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weight_kg} kg on {self.measured_on}"


class Allergy(PatientRecord):
    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"
        UNKNOWN = "unknown", "Unknown"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    substance = models.CharField(max_length=200)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.substance


class Medication(PatientRecord):
    """A current or past medication, with the interaction flags dosing decisions need."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    dose = models.CharField(max_length=100, blank=True)
    is_maoi = models.BooleanField("MAOI", default=False)
    is_benzodiazepine = models.BooleanField("benzodiazepine", default=False)
    is_psychostimulant = models.BooleanField("psychostimulant", default=False)
    is_cns_depressant = models.BooleanField("other CNS depressant", default=False)
    is_active = models.BooleanField(default=True)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True)
                | Q(started_on__isnull=True)
                | Q(stopped_on__gte=models.F("started_on")),
                name="medication_stops_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.dose}".strip()

    @property
    def flags(self) -> list[str]:
        names = [
            ("MAOI", self.is_maoi),
            ("benzodiazepine", self.is_benzodiazepine),
            ("psychostimulant", self.is_psychostimulant),
            ("CNS depressant", self.is_cns_depressant),
        ]
        return [name for name, on in names if on]


icd10 = RegexValidator(
    r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$", "Enter an ICD-10 code such as F33.2."
)


class Diagnosis(PatientRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diagnoses")
    icd10_code = models.CharField("ICD-10 code", max_length=8, validators=[icd10])
    description = models.CharField(max_length=200)
    is_primary = models.BooleanField(default=False)
    onset = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.description}"
