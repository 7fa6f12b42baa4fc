from django.urls import path

from katclinic.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("second-factor/", views.second_factor, name="second_factor"),
    path("second-factor/setup/", views.setup_second_factor, name="setup_second_factor"),
    path("logout/", views.sign_out, name="logout"),
]
