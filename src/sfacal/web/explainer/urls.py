from django.urls import path

from sfacal.web.explainer import views

urlpatterns = [
    path("explain/", views.explain_search, name="explain"),
    path("explain/schedule/", views.explain_schedule, name="explain_schedule"),
    path("explain/sync/", views.explain_sync, name="explain_sync"),
]
