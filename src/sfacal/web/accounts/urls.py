from django.urls import path

from sfacal.web.accounts import views

urlpatterns = [
    path("signin/", views.sign_in, name="login"),
    path("signout/", views.sign_out, name="logout"),
    path("invitation/<uidb64>/<token>/", views.accept_invitation, name="accept_invitation"),
]
