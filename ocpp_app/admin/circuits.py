"""The admin of site load management: the circuit tree, its peak-hour
windows, and what the load manager gave each active session. A change is
checked on the whole tree (services/load.py) before it is saved."""

from django import forms
from django.contrib import admin

from ocpp_app.models import Circuit, CircuitSchedule, LoadAllocation
from ocpp_app.services import load


class CircuitAdminForm(forms.ModelForm):
    class Meta:
        model = Circuit
        fields = ["name", "max_current", "phases", "phase", "voltage", "parent"]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        for field, messages in load.circuit_errors(circuit=self.instance).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class CircuitScheduleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and "max_current" in form.cleaned_data
        ]
        if self.instance.max_current is None:
            return
        problems = load.schedule_problems(rows, self.instance.max_current)
        if problems:
            raise forms.ValidationError(problems)


class CircuitScheduleInline(admin.TabularInline):
    model = CircuitSchedule
    formset = CircuitScheduleFormSet
    extra = 0


@admin.register(Circuit)
class CircuitAdmin(admin.ModelAdmin):
    form = CircuitAdminForm
    list_display = ["name", "max_current", "phases", "phase", "voltage", "parent"]
    search_fields = ["name"]
    inlines = [CircuitScheduleInline]

    def delete_model(self, request, obj):
        load.circuit_delete(circuit=obj)


@admin.register(LoadAllocation)
class LoadAllocationAdmin(admin.ModelAdmin):
    list_display = ["charger", "connector_id", "transaction", "circuit", "limit", "measured", "reason", "state"]
    list_filter = ["state", "reason", "circuit"]
    readonly_fields = [f.name for f in LoadAllocation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
