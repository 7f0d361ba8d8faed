from django.urls import path

from sfacal.web.audit import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
]
