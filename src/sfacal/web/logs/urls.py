from django.urls import path

from sfacal.web.logs import views

urlpatterns = [
    path("", views.log_list, name="logs"),
    path("export.csv", views.log_export, name="log_export"),
]
