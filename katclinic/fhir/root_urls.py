"""Under /fhir/ but outside the R4 base: an OperationOutcome too, never an HTML page."""

from django.urls import URLPattern, re_path

from katclinic.fhir import views

app_name = "fhir_root"
urlpatterns: list[URLPattern] = [
    re_path(r"^(?P<rest>.*)$", views.unknown, {"root": True}, name="unknown")
]
