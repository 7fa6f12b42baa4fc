from django.urls import include, path

urlpatterns = [
    path("", include("katclinic.core.urls")),
    path("accounts/", include("katclinic.accounts.urls")),
    path("clinic/", include("katclinic.clinics.urls")),
    path("audit/", include("katclinic.audit.urls")),
    path("patients/", include("katclinic.patients.urls")),
]
