from django.urls import URLPattern, URLResolver, path

from katclinic.billing import views

app_name = "billing"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("sessions/<int:session_id>/propose/", views.propose, name="propose"),
    path("charges/<int:charge_id>/", views.charge, name="charge"),
    path("charges/<int:charge_id>/lines/add/", views.add_line, name="add_line"),
    path("charges/<int:charge_id>/post/", views.post_charge, name="post_charge"),
    path("charges/<int:charge_id>/superbill.pdf", views.superbill, name="superbill"),
    path("lines/<int:line_id>/adjust/", views.adjust_line, name="adjust_line"),
    path("lines/<int:line_id>/drop/", views.drop_line, name="drop_line"),
    path("lines/<int:line_id>/reverse/", views.reverse_line, name="reverse_line"),
    path("patients/<int:patient_id>/", views.account, name="account"),
    path("patients/<int:patient_id>/pay/", views.take_payment, name="take_payment"),
    path("patients/<int:patient_id>/payment-link/", views.send_link, name="send_link"),
    path("payments/<int:payment_id>/confirm/", views.confirm_link, name="confirm_link"),
    path("payments/<int:payment_id>/refund/", views.refund, name="refund"),
    path("payments/<int:payment_id>/receipt.pdf", views.receipt, name="receipt"),
    path("fees/", views.fees, name="fees"),
    path("fees/new/", views.fees_new, name="fees_new"),
    path("reports/", views.report, name="reports"),
    path("reports/<slug:table>.csv", views.report_csv, name="report_csv"),
    path("my/<int:patient_id>/", views.my_statements, name="my_statements"),
    path(
        "my/<int:patient_id>/superbill/<int:charge_id>.pdf", views.my_superbill, name="my_superbill"
    ),
]
