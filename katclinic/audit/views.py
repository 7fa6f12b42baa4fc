from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from katclinic.audit.forms import AuditFilterForm
from katclinic.audit.models import AuditEvent
from katclinic.clinics.access import staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.permissions import Perm


@staff_view(Perm.VIEW_AUDIT)
def event_list(request: StaffRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.for_clinic(request.clinic.pk).order_by("-at", "-seq")
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        if data["patient"]:
            events = events.filter(patient_id=data["patient"])
        if data["user"]:
            events = events.filter(actor__iexact=data["user"].strip())
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["date_from"]:
            events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tz))
        if data["date_to"]:
            events = events.filter(
                at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tz)
            )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    status = 400 if form.errors else 200
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=status,
    )
