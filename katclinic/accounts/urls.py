from django.urls import path

from katclinic.accounts import passkey_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("second-factor/", views.second_factor, name="second_factor"),
    path("second-factor/setup/", views.setup_second_factor, name="setup_second_factor"),
    path(
        "second-factor/passkey/options/",
        passkey_views.sign_in_options,
        name="passkey_sign_in_options",
    ),
    path("second-factor/passkey/", passkey_views.sign_in, name="passkey_sign_in"),
    path("security/", passkey_views.security, name="security"),
    path(
        "security/passkeys/options/",
        passkey_views.register_options,
        name="passkey_register_options",
    ),
    path("security/passkeys/", passkey_views.register, name="passkey_register"),
    path(
        "security/passkeys/<int:passkey_id>/remove/",
        passkey_views.remove,
        name="passkey_remove",
    ),
    path("logout/", views.sign_out, name="logout"),
]
