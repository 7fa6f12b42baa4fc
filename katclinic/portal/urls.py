from django.urls import path

from katclinic.portal import auth_views, inbox, staff_views, views

app_name = "portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("sign-in-link/", auth_views.link_request, name="link_request"),
    path("sign-in-link/<str:token>/", auth_views.link_sign_in, name="link_sign_in"),
    path("reset/", auth_views.reset_request, name="reset_request"),
    path("set-password/<str:token>/", auth_views.set_password, name="set_password"),
    path("<int:patient_id>/", views.home, name="home"),
    path("<int:patient_id>/progress/", views.progress, name="progress"),
    path("<int:patient_id>/journal/", views.journal, name="journal"),
    path(
        "<int:patient_id>/journal/<int:entry_id>/share/", views.journal_share, name="journal_share"
    ),
    path("<int:patient_id>/visits/", views.appointments, name="appointments"),
    path("<int:patient_id>/record/", views.my_record, name="record"),
    path("<int:patient_id>/record.pdf", views.record_pdf, name="record_pdf"),
    path("<int:patient_id>/record.json", views.record_fhir, name="record_fhir"),
    path("<int:patient_id>/security/", views.security, name="security"),
    path("patients/<int:patient_id>/invite/", staff_views.invite, name="invite"),
    path("patients/<int:patient_id>/journal/", staff_views.journal_tab, name="journal_tab"),
    path("requests/", staff_views.requests, name="requests"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("requests/<int:request_id>/done/", staff_views.request_done, name="request_done"),
]
