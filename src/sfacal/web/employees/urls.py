from django.urls import path

from sfacal.web.employees import exports, feeds, mirrored, views

urlpatterns = [
    path("employees/", views.employee_list, name="employees"),
    path("employees/new/", views.employee_edit, name="employee_new"),
    path("employees/bulk/", views.employee_bulk, name="employee_bulk"),
    path("employees/import/", views.employee_import, name="employee_import"),
    path("employees/export.csv", exports.employee_export, name="employee_export"),
    path("employees/calendars/", views.employee_calendars, name="employee_calendars"),
    path("employees/<int:pk>/", views.employee_edit, name="employee_edit"),
    path("employees/<int:pk>/invite/", views.employee_invite, name="employee_invite"),
    path("employees/<int:pk>/events/", mirrored.employee_events, name="employee_events"),
    path("employees/<int:pk>/feed/revoke/", feeds.employee_feed_revoke, name="employee_feed_revoke"),
    path("feeds/<str:token>.ics", feeds.ics_feed, name="ics_feed"),
    path("me/feed/", feeds.my_feed, name="my_feed"),
    path("me/events/", mirrored.my_events, name="my_events"),
    path("me/settings/", views.personal_settings, name="personal_settings"),
    path("me/settings/calendars/", views.personal_calendars, name="personal_calendars"),
]
