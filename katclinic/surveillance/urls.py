from django.urls import URLPattern, URLResolver, path

from katclinic.surveillance import views

app_name = "surveillance"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.tasks, name="tasks"),
    path("patients/<int:patient_id>/", views.review, name="review"),
    path("patients/<int:patient_id>/close-task/", views.close_task, name="close_task"),
    path("patients/<int:patient_id>/decide/", views.decide, name="decide"),
]
