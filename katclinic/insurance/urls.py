from django.urls import path

from katclinic.insurance import claim_views, views

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
    path("claims/", claim_views.claim_list, name="claims"),
    path("claims/build/<int:charge_id>/", claim_views.claim_build, name="claim_build"),
    path("claims/<int:claim_id>/", claim_views.claim_detail, name="claim"),
    path("claims/<int:claim_id>/check/", claim_views.claim_check, name="claim_check"),
    path("claims/<int:claim_id>/send/", claim_views.claim_send, name="claim_send"),
    path("claims/<int:claim_id>/status/", claim_views.claim_status, name="claim_status"),
    path("claims/<int:claim_id>/file/", claim_views.claim_file, name="claim_file"),
    path("remittances/import/", claim_views.remittance_import, name="remittance_import"),
    path("remittances/<int:remittance_id>/", claim_views.remittance, name="remittance"),
]
