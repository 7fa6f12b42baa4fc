"""Writes to the patient record. Each one is a transaction with its audit event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Model
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic
from katclinic.patients.forms import (
    AllergyData,
    DiagnosisData,
    MedicationData,
    PatientChanges,
    PatientData,
)
from katclinic.patients.models import Allergy, Diagnosis, Medication, Patient, WeightReading

MRN_PREFIX = "K"


def next_mrn(clinic: Clinic) -> str:
    """The next record number in this clinic; the unique constraint guards any race."""
    last = Patient.objects.filter(clinic=clinic, mrn__startswith=MRN_PREFIX).aggregate(
        m=Max("mrn")
    )["m"]
    number = int(last[len(MRN_PREFIX) :]) + 1 if last else 1
    return f"{MRN_PREFIX}{number:06d}"


@transaction.atomic
def register_patient(
    *, clinic: Clinic, data: PatientData, by: User, request: HttpRequest | None = None
) -> Patient:
    patient = Patient.objects.create(clinic=clinic, mrn=next_mrn(clinic), **data)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        patient_id=patient.pk,
        obj=patient,
    )
    return patient


def update_patient(
    *,
    patient: Patient,
    data: PatientData | PatientChanges,
    by: User,
    request: HttpRequest | None = None,
) -> list[str]:
    """Store the demographics (all of a form's, or some) that changed; their field names."""
    return _change(patient, data, by, request)


@transaction.atomic
def _change(
    patient: Patient, data: Mapping[str, object], by: User, request: HttpRequest | None
) -> list[str]:
    changed = []
    for name, value in data.items():
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    if changed:
        patient.save(update_fields=changed)
        audit.record(
            request=request,
            user=by,
            action=Action.UPDATE,
            clinic_id=patient.clinic_id,
            patient_id=patient.pk,
            obj=patient,
            detail={"fields": changed},
        )
    return changed


@transaction.atomic
def set_preferred_language(
    *, patient: Patient, language: str, by: User, request: HttpRequest | None = None
) -> bool:
    """Keep the language the patient reads (chosen by the patient or by staff)."""
    if language not in {code for code, _ in settings.LANGUAGES}:
        raise ValueError(f"unknown language {language!r}")
    return bool(_change(patient, {"preferred_language": language}, by, request))


def _add[M: Model](
    model: type[M], *, patient: Patient, by: User, request: HttpRequest | None, **fields: object
) -> M:
    with transaction.atomic():
        row = model._default_manager.create(
            clinic_id=patient.clinic_id, patient=patient, recorded_by=by, **fields
        )
        audit.record(
            request=request,
            user=by,
            action=Action.CREATE,
            clinic_id=patient.clinic_id,
            patient_id=patient.pk,
            obj=row,
        )
    return row


def record_weight(
    *,
    patient: Patient,
    weight_kg: Decimal,
    entered_value: Decimal,
    entered_unit: str,
    measured_on: date,
    by: User,
    request: HttpRequest | None = None,
) -> WeightReading:
    return _add(
        WeightReading,
        patient=patient,
        by=by,
        request=request,
        weight_kg=weight_kg,
        entered_value=entered_value,
        entered_unit=entered_unit,
        measured_on=measured_on,
    )


def add_allergy(
    *, patient: Patient, data: AllergyData, by: User, request: HttpRequest | None = None
) -> Allergy:
    return _add(Allergy, patient=patient, by=by, request=request, **data)


def add_medication(
    *, patient: Patient, data: MedicationData, by: User, request: HttpRequest | None = None
) -> Medication:
    return _add(Medication, patient=patient, by=by, request=request, **data)


def add_diagnosis(
    *, patient: Patient, data: DiagnosisData, by: User, request: HttpRequest | None = None
) -> Diagnosis:
    return _add(Diagnosis, patient=patient, by=by, request=request, **data)
