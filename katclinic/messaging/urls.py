from django.urls import path

from katclinic.messaging import portal_views, views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("find/", views.find_patient, name="find_patient"),
    path("patients/<int:patient_id>/", views.chart_tab, name="chart_tab"),
    path("patients/<int:patient_id>/new/", views.start, name="start"),
    path("threads/<int:thread_id>/", views.thread, name="thread"),
    path("threads/<int:thread_id>/reply/", views.staff_reply, name="reply"),
    path("threads/<int:thread_id>/assign/", views.assign, name="assign"),
    path("messages/<int:message_id>/hide/", views.hide, name="hide"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("mine/<int:patient_id>/", portal_views.mine, name="mine"),
    path("mine/<int:patient_id>/new/", portal_views.mine_new, name="mine_new"),
    path(
        "mine/<int:patient_id>/threads/<int:thread_id>/",
        portal_views.mine_thread,
        name="mine_thread",
    ),
    path(
        "mine/<int:patient_id>/threads/<int:thread_id>/reply/",
        portal_views.mine_reply,
        name="mine_reply",
    ),
    path(
        "mine/<int:patient_id>/attachments/<int:attachment_id>/",
        portal_views.mine_attachment,
        name="mine_attachment",
    ),
]
