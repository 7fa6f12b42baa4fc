from django.urls import URLPattern, URLResolver, path

from katclinic.athome import views

app_name = "athome"
urlpatterns: list[URLPattern | URLResolver] = [
    path("me/<int:patient_id>/", views.mine, name="mine"),
    path("me/<int:patient_id>/start/", views.start, name="start"),
    path("me/<int:patient_id>/sessions/<int:session_id>/", views.my_session, name="my_session"),
    path("me/<int:patient_id>/sessions/<int:session_id>/check-in/", views.checkin, name="checkin"),
    path("me/<int:patient_id>/sessions/<int:session_id>/taken/", views.taken, name="taken"),
    path("me/<int:patient_id>/sessions/<int:session_id>/after/", views.after, name="after"),
    path("patients/<int:patient_id>/", views.patient, name="patient"),
    path("patients/<int:patient_id>/prescribe/", views.prescribe, name="prescribe"),
    path("prescriptions/<int:prescription_id>/dispense/", views.dispense, name="dispense"),
    path("prescriptions/<int:prescription_id>/count/", views.reconcile, name="reconcile"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_ack, name="alert_ack"),
    path("alerts/<int:alert_id>/close/", views.alert_close, name="alert_close"),
]
