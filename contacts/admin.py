from django.contrib import admin

from contacts.models import Contact


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "preferred_method", "time_zone", "organization"]
    search_fields = ["name", "email"]

    def has_change_permission(self, request, obj=None):
        # Contacts change through the product's services, which audit every write.
        return False

    def has_add_permission(self, request):
        return False
