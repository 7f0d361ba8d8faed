from django.urls import path

from sfacal.web.companies import views

urlpatterns = [
    path("settings/", views.company_settings, name="company_settings"),
    path("masters/", views.masters, name="masters"),
    path("masters/<str:kind>/<int:pk>/", views.master_row, name="master_row"),
    path("companies/", views.companies, name="companies"),
    path("companies/new/", views.company_new, name="company_new"),
]
