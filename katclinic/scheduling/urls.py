from django.urls import URLPattern, URLResolver, path

from katclinic.scheduling import views

app_name = "scheduling"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.day, name="day"),
    path("patients/<int:patient_id>/", views.patient_appointments, name="patient_appointments"),
    path("patients/<int:patient_id>/book/", views.book, name="book"),
    path("appointments/<int:appointment_id>/state/", views.change_state, name="change_state"),
    path("appointments/<int:appointment_id>/move/", views.reschedule, name="reschedule"),
    path("plans/<int:plan_id>/", views.plan_schedule, name="plan_schedule"),
    path("reminders/failed/", views.failed_reminders, name="failed_reminders"),
    path("calendar/", views.calendar_feed, name="calendar_feed"),
    path("calendar/<str:token>.ics", views.ical_feed, name="ical_feed"),
    path("request/<slug:clinic_slug>/", views.request_slot, name="request_slot"),
    path("requests/", views.requests_list, name="requests"),
]
