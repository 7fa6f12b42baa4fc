from django.urls import path

from katclinic.intake import consent_views, screening_views, views

app_name = "intake"
urlpatterns = [
    path("c/<slug:slug>/", views.public, name="public"),
    path("c/<slug:slug>/thanks/", views.public_thanks, name="public_thanks"),
    path("requests/", views.inbox, name="requests"),
    path("requests/<int:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<int:request_id>/state/", views.request_state, name="request_state"),
    path("requests/<int:request_id>/convert/", views.request_convert, name="request_convert"),
    path("patients/<int:patient_id>/", screening_views.chart_tab, name="chart_tab"),
    path(
        "patients/<int:patient_id>/screenings/new/",
        screening_views.screening_new,
        name="screening_new",
    ),
    path("screenings/<int:screening_id>/", screening_views.screening_detail, name="screening"),
    path(
        "screenings/<int:screening_id>/edit/", screening_views.screening_edit, name="screening_edit"
    ),
    path(
        "screenings/<int:screening_id>/sign/", screening_views.screening_sign, name="screening_sign"
    ),
    path(
        "screenings/<int:screening_id>/correct/",
        screening_views.screening_correct,
        name="screening_correct",
    ),
    path("consents/", consent_views.consent_list, name="consents"),
    path("consents/documents/", consent_views.documents, name="documents"),
    path(
        "patients/<int:patient_id>/consent/<int:document_id>/sign/",
        consent_views.sign_on_device,
        name="sign_on_device",
    ),
    path("signatures/<int:signature_id>/withdraw/", consent_views.withdraw, name="withdraw"),
    path("my/<int:patient_id>/consent/", consent_views.my_consents, name="my_consents"),
    path("my/<int:patient_id>/consent/<int:document_id>/", consent_views.my_sign, name="my_sign"),
]
