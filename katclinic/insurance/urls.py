from django.urls import path

from katclinic.insurance import views

app_name = "insurance"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient, name="patient"),
    path("patients/<int:patient_id>/coverage/new/", views.coverage_add, name="coverage_add"),
    path("coverage/<int:coverage_id>/", views.coverage_edit, name="coverage_edit"),
    path(
        "coverage/<int:coverage_id>/eligibility/",
        views.eligibility_request,
        name="eligibility_request",
    ),
    path("eligibility/<int:check_id>/", views.eligibility, name="eligibility"),
    path("eligibility/<int:check_id>/file/", views.eligibility_file, name="eligibility_file"),
    path("eligibility/<int:check_id>/answer/", views.eligibility_answer, name="eligibility_answer"),
    path(
        "coverage/<int:coverage_id>/authorizations/new/",
        views.authorization_add,
        name="authorization_add",
    ),
    path("authorizations/", views.authorizations, name="authorizations"),
    path("authorizations/<int:auth_id>/", views.authorization, name="authorization"),
    path("authorizations/<int:auth_id>/edit/", views.authorization_edit, name="authorization_edit"),
    path("authorizations/<int:auth_id>/units/", views.authorization_use, name="authorization_use"),
    path("authorizations/<int:auth_id>/documents/", views.document_add, name="document_add"),
    path("documents/<int:document_id>/", views.document, name="document"),
]
