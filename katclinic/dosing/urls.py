from django.urls import URLPattern, URLResolver, path

from katclinic.dosing import ledger_views, record_views, views

app_name = "dosing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("patients/<int:patient_id>/", views.patient_sessions, name="patient_sessions"),
    path("patients/<int:patient_id>/new/", views.create_session, name="create_session"),
    path("<int:session_id>/", views.session_detail, name="session"),
    path("<int:session_id>/state/", views.transition, name="transition"),
    path("<int:session_id>/pre-dose/", views.pre_dose, name="pre_dose"),
    path("checks/<int:check_id>/override/", views.override, name="override"),
    path("<int:session_id>/start-dosing/", views.start_dosing, name="start_dosing"),
    path("<int:session_id>/administer/", views.administer, name="administer"),
    path("<int:session_id>/adjunct/", views.adjunct, name="adjunct"),
    path("<int:session_id>/finish-dosing/", views.finish_dosing, name="finish_dosing"),
    path("<int:session_id>/checkpoint/", views.checkpoint, name="checkpoint"),
    path("alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:session_id>/side-effect/", views.side_effect, name="side_effect"),
    path("<int:session_id>/readiness/", views.assess_discharge, name="assess_discharge"),
    path("<int:session_id>/discharge/", views.discharge, name="discharge"),
    path("<int:session_id>/notes/new/", record_views.note_new, name="note_new"),
    path("notes/<int:note_id>/sign/", record_views.note_sign, name="note_sign"),
    path("notes/<int:note_id>/addendum/", record_views.note_addendum, name="note_addendum"),
    path("board/", record_views.floor_board, name="board"),
    path("board/rows/", record_views.floor_board_rows, name="board_rows"),
    path("rems/", record_views.rems_queue, name="rems_queue"),
    path("rems/<int:form_id>/", record_views.rems_edit, name="rems_edit"),
    path("rems/<int:form_id>/complete/", record_views.rems_complete, name="rems_complete"),
    path("rems/<int:form_id>/pdf/", record_views.rems_pdf, name="rems_pdf"),
    path("ledger/", ledger_views.stock, name="ledger"),
    path("ledger/receive/", ledger_views.receive, name="ledger_receive"),
    path("ledger/lots/<int:lot_id>/", ledger_views.lot_detail, name="lot"),
    path("ledger/lots/<int:lot_id>/movement/", ledger_views.movement, name="lot_movement"),
    path("ledger/lots/<int:lot_id>/count/", ledger_views.count, name="lot_count"),
    path("ledger/report/", ledger_views.report, name="ledger_report"),
]
