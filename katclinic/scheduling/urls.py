from django.urls import URLPattern, URLResolver, path

from katclinic.scheduling import calendar_views, mine_views, places_views, sms_views, views

app_name = "scheduling"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.day, name="day"),
    path("patients/<int:patient_id>/", views.patient_appointments, name="patient_appointments"),
    path("patients/<int:patient_id>/book/", views.book, name="book"),
    path("appointments/<int:appointment_id>/state/", views.change_state, name="change_state"),
    path("appointments/<int:appointment_id>/move/", views.reschedule, name="reschedule"),
    path("plans/<int:plan_id>/", views.plan_schedule, name="plan_schedule"),
    path("reminders/failed/", views.failed_reminders, name="failed_reminders"),
    path("sms/inbound/", sms_views.sms_inbound, name="sms_inbound"),
    path("me/<int:patient_id>/book/", mine_views.book, name="my_book"),
    path(
        "me/<int:patient_id>/visits/<int:appointment_id>/",
        mine_views.change,
        name="my_visit",
    ),
    path("calendar/", views.calendar_feed, name="calendar_feed"),
    path("calendar/<str:token>.ics", views.ical_feed, name="ical_feed"),
    path("request/<slug:clinic_slug>/", views.request_slot, name="request_slot"),
    path("requests/", views.requests_list, name="requests"),
    path("calendar/grid/", calendar_views.calendar_page, name="calendar"),
    path("calendar/grid/book/", calendar_views.calendar_book, name="calendar_book"),
    path("calendar/free/", calendar_views.free_slots, name="free_slots"),
    path("appointments/<int:appointment_id>/", calendar_views.appointment_page, name="appointment"),
    path(
        "appointments/<int:appointment_id>/set-state/",
        calendar_views.set_state,
        name="appointment_state",
    ),
    path("appointments/<int:appointment_id>/change-time/", calendar_views.move, name="move"),
    path("appointments/<int:appointment_id>/undo/", calendar_views.undo_state, name="undo"),
]

# Places and hours (rooms, chairs, opening hours, closures, staff hours and leave).
urlpatterns += [
    path("places/", places_views.place_list, name="places"),
    path("places/rooms/add/", places_views.room_edit, name="room_add"),
    path("places/rooms/<int:room_id>/", places_views.room_edit, name="room_edit"),
    path("places/chairs/add/", places_views.chair_edit, name="chair_add"),
    path("places/chairs/<int:chair_id>/", places_views.chair_edit, name="chair_edit"),
    path("hours/", places_views.opening_hours, name="opening_hours"),
    path("closures/", places_views.closures, name="closures"),
    path("closures/<int:closure_id>/remove/", places_views.closure_remove, name="closure_remove"),
    path("staff/<int:user_id>/hours/", places_views.staff_hours, name="staff_hours"),
    path("staff/<int:user_id>/leave/", places_views.leave_add, name="leave_add"),
    path("leave/<int:leave_id>/remove/", places_views.leave_remove, name="leave_remove"),
    path("my-hours/", places_views.my_hours, name="my_hours"),
]
