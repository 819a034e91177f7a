from django.contrib import admin

from modems.models import Network, SimCard


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name"]


@admin.register(SimCard)
class SimCardAdmin(admin.ModelAdmin):
    list_display = ["__str__", "network", "number"]
