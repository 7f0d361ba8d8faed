from django.urls import path

from sfacal.web.connections import caldav, views

urlpatterns = [
    path("justsfa/", views.justsfa, name="justsfa"),
    path("justsfa/writeback-test/", views.writeback_test, name="justsfa_writeback_test"),
    path("justsfa/webhook/regenerate/", views.webhook_regenerate, name="webhook_regenerate"),
    path("justsfa/users/", views.mappings, name="mappings"),
    path("justsfa/users/new/", views.mapping_new, name="mapping_new"),
    path("justsfa/users/<int:pk>/", views.mapping_row, name="mapping_row"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("push/", views.push_connection, name="push_connection"),
    path("settings/caldav/", caldav.caldav_settings_view, name="caldav_settings"),
    path("employees/<int:pk>/caldav/", caldav.employee_caldav, name="employee_caldav"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
