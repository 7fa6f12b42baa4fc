from django.urls import URLPattern, URLResolver, path

from katclinic.measures import patient_views, translation_views, views, wording_views

app_name = "measures"
urlpatterns: list[URLPattern | URLResolver] = [
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("patients/<int:patient_id>/enter/<slug:key>/", views.enter, name="enter"),
    path("patients/<int:patient_id>/invite/", views.invite, name="invite"),
    path("patients/<int:patient_id>/kiosk/", views.kiosk_start, name="kiosk_start"),
    path("patients/<int:patient_id>/schedule/", views.schedule, name="schedule"),
    path("patients/<int:patient_id>/course/", views.course_start, name="course_start"),
    path("patients/<int:patient_id>/course/end/", views.course_end, name="course_end"),
    path("responses/<int:response_id>/correct/", views.correct, name="correct"),
    path("wording/", wording_views.wording_list, name="wording"),
    path("wording/<slug:key>/", wording_views.wording_edit, name="wording_edit"),
    path("translations/", translation_views.translation_list, name="translations"),
    path("translations/load/", translation_views.translation_load, name="translation_load"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/banner/", views.alert_banner, name="alert_banner"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_ack, name="alert_ack"),
    path("alerts/<int:alert_id>/close/", views.alert_close, name="alert_close"),
    path("me/<int:patient_id>/", patient_views.my_home, name="my_home"),
    path("me/answer/<int:invitation_id>/", patient_views.my_answer, name="my_answer"),
    path("q/<str:token>/", patient_views.link, name="link"),
    path("kiosk/", patient_views.kiosk, name="kiosk"),
    path("kiosk/locked/", patient_views.kiosk_locked, name="kiosk_locked"),
]
