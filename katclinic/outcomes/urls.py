from django.urls import URLPattern, URLResolver, path

from katclinic.outcomes import views

app_name = "outcomes"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard_page, name="dashboard"),
    path("export/<slug:table>.csv", views.dashboard_csv, name="dashboard_csv"),
    path("research-export/", views.research_export, name="research_export"),
    path("patients/<int:patient_id>/progress/", views.progress, name="progress"),
    path("patients/<int:patient_id>/progress.pdf", views.progress_pdf, name="progress_pdf"),
    path("patients/<int:patient_id>/record.pdf", views.record_pdf, name="record_pdf"),
]
