from django.urls import include, path

from katclinic.api.api import api

urlpatterns = [
    path("", include("katclinic.core.urls")),
    path("accounts/", include("katclinic.accounts.urls")),
    path("clinic/", include("katclinic.clinics.urls")),
    path("setup/", include("katclinic.clinics.setup_urls")),
    path("audit/", include("katclinic.audit.urls")),
    path("patients/", include("katclinic.patients.urls")),
    path("intake/", include("katclinic.intake.urls")),
    path("measures/", include("katclinic.measures.urls")),
    path("protocols/", include("katclinic.protocols.urls")),
    path("scheduling/", include("katclinic.scheduling.urls")),
    path("dosing/", include("katclinic.dosing.urls")),
    path("outcomes/", include("katclinic.outcomes.urls")),
    path("portal/", include("katclinic.portal.urls")),
    path("athome/", include("katclinic.athome.urls")),
    path("surveillance/", include("katclinic.surveillance.urls")),
    path("billing/", include("katclinic.billing.urls")),
    path("visitnotes/", include("katclinic.visitnotes.urls")),
    path("insurance/", include("katclinic.insurance.urls")),
    path("messaging/", include("katclinic.messaging.urls")),
    path("api/", api.urls),
    path("tokens/", include("katclinic.api.web_urls")),
    path("oauth/", include("katclinic.smart.urls")),
    path(".well-known/", include("katclinic.smart.well_known_urls")),
    path("fhir/R4/", include("katclinic.fhir.urls")),
    path("fhir/", include("katclinic.fhir.root_urls")),  # keep after every other fhir/ route
]
