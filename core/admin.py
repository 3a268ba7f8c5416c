"""Site-wide admin settings: "Delete selected" bounded like every other action."""

from django.contrib import admin

from core.admin_actions import install_bounded_delete

install_bounded_delete(admin.site)
