from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from delivery import views as delivery_views
from delivery.enrolment.urls import account_urlpatterns
from delivery.forms import LoginForm, QueuedPasswordResetForm

admin.site.site_header = "Flipside administration"
admin.site.site_title = "Flipside"

urlpatterns = [
    path("", delivery_views.home, name="home"),
    path("healthz", delivery_views.healthz, name="healthz"),
    path("favicon.ico", delivery_views.favicon, name="favicon"),
    # The issuer's DID document (/.well-known/did.json) and, later, the verification pages.
    path("", include("credentials.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    # Signing up, confirming the e-mail address, invitations (delivery's enrolment).
    path("accounts/", include(account_urlpatterns)),
    # One sign-in page for everyone, the admin included.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("learn/", include("delivery.urls")),
    path("assess/", include("assessment.urls")),
    path("live/", include("live.urls")),
    path("catalogue/", include("catalogue.urls")),
]
