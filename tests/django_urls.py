"""The test Django project's URLs: the admin, where the outbox is shown."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
