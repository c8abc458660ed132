"""Settlement runs: the list with each run's progress, starting a run, the dry run, and the
run's page (refreshing itself while the workers settle its batches)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import CreateOnlyAdmin, ObjectActionsMixin, badge, colour_class, form_error, money, table
from marketplace.errors import DomainError

from .. import permissions, selectors, services
from ..choices import LineKind, RunStatus
from ..models import SettlementRun

RUN_COLOURS = {RunStatus.RUNNING: "#0d6efd", RunStatus.COMPLETED: "#198754", RunStatus.FAILED: "#dc3545"}


class PeriodForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), max_length=7, help_text=_("The month, e.g. 2026-10."), widget=forms.TextInput({"size": 8})
    )
    error_fields = {"invalid_period": "period", "period_not_ended": "period"}


def progress_bar(run: SettlementRun) -> str:
    total = run.batches_total or 0
    done = min(run.batches_done, total)
    percent = 100 if total == 0 else int(100 * done / total)
    colour = "#dc3545" if run.failures else RUN_COLOURS.get(run.status, "#0d6efd")
    return format_html(
        '<progress class="mp-progress {}" max="100" value="{}">{}%</progress>{}',
        colour_class(colour),
        percent,
        percent,
        gettext(
            "%(done)d / %(total)d batches · %(merchants_done)d / %(merchants_total)d merchants · %(failures)d failed"
        )
        % {
            "done": run.batches_done,
            "total": run.batches_total,
            "merchants_done": run.merchants_done,
            "merchants_total": run.merchants_total,
            "failures": len(run.failures or []),
        },
    )


@admin.register(SettlementRun)
class SettlementRunAdmin(ObjectActionsMixin, CreateOnlyAdmin):
    """Runs are started here (the add page) and written only by the run services."""

    add_action = permissions.RUN_START
    view_action = permissions.RUN_VIEW
    # The change page refreshes itself while the run is going.
    change_form_template = "admin/settlements/settlementrun/change_form.html"

    list_display = ["__str__", "period", "status_badge", "progress", "statements_created", "started_by", "started_at"]
    list_filter = ["status", "period"]
    list_select_related = ["started_by"]
    readonly_fields = ["status_badge", "progress", "failure_table", "statements_link"]
    fieldsets = [
        (None, {"fields": ["period", "status_badge", "progress", "started_by", ("started_at", "finished_at")]}),
        (_("Statements"), {"fields": ["statements_created", "statements_link"]}),
        (_("Failures"), {"fields": ["failure_table"]}),
    ]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, run):
        return badge(RUN_COLOURS.get(run.status, "#6c757d"), run.get_status_display())

    @admin.display(description=_("progress"))
    def progress(self, run):
        return progress_bar(run)

    @admin.display(description=_("failed batches"))
    def failure_table(self, run):
        rows = selectors.failures_by_batch(run)
        if not rows:
            return "—"
        return table(
            [gettext("first merchant"), gettext("last merchant"), gettext("error")],
            ((row["first"], row["last"], row["error"]) for row in rows),
        )

    @admin.display(description=_("statements of the run"))
    def statements_link(self, run):
        url = reverse("admin:settlements_statement_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?run__id__exact={}">{}</a>', url, run.pk, gettext("Show the statements"))

    # --- Pages ---------------------------------------------------------------------------

    def page_urls(self):
        # The dry run is part of starting a run: the same declaration.
        return [self.staff_page("preview/", self.preview_view, "preview", permissions.RUN_START)]

    def changelist_view(self, request, extra_context=None):
        extra = {
            **(extra_context or {}),
            "preview_url": self.page_url("preview") if permissions.RUN_START.allows(request.user) else None,
        }
        return super().changelist_view(request, extra_context=extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra = {**(extra_context or {}), "refresh": run is not None and run.status == RunStatus.RUNNING}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def action_buttons(self, request, run):
        if not permissions.STATEMENT_APPROVE.allows(request.user):
            return []
        if not selectors.statement_drafts(run_id=run.pk).exists():
            return []
        url = reverse("admin:settlements_statement_approve_all", current_app=self.admin_site.name)
        return [{"label": gettext("Approve all statements of this run"), "url": f"{url}?run={run.pk}"}]

    def add_view(self, request, form_url="", extra_context=None):
        """Start a run: the service refuses a period that has not ended; its batches are
        enqueued to the workers once the run is committed."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PeriodForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.run_start(period=form.cleaned_data["period"], actor=request.user)
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    gettext("Run %(run)s started: %(merchants)d merchant(s) in %(batches)d batch(es).")
                    % {"run": run, "merchants": run.merchants_total, "batches": run.batches_total},
                )
                return redirect(self.page_url("change", run.pk))
        return self.render_page(
            request,
            "admin/settlements/form.html",
            gettext("Start a settlement run"),
            form=form,
            submit_label=gettext("Start the run"),
            help_text=gettext(
                "Every merchant without a statement for the period is settled, in batches shared by the workers. "
                "Starting again later settles only the merchants left."
            ),
        )

    def preview_view(self, request):
        """The dry run: the same computation, rolled back; nothing is written."""
        form = PeriodForm(request.GET or None)
        preview = None
        if form.is_bound and form.is_valid():
            try:
                preview = services.run_preview(period=form.cleaned_data["period"])
            except DomainError as exc:
                form_error(form, exc)
        context = {"form": form, "preview": preview}
        if preview is not None:
            kinds = selectors.preview_columns(preview.totals)
            context["preview_table"] = table(
                [
                    gettext("merchant"),
                    *(LineKind(k).label for k in kinds),
                    gettext("frozen orders"),
                    gettext("payable"),
                ],
                (
                    (
                        row["merchant"],
                        *(money(row["lines"][k]) if k in row["lines"] else "" for k in kinds),
                        row["frozen"],
                        money(row["payable"]),
                    )
                    for row in preview.statements
                ),
                foot=[
                    gettext("Total (%(count)d)") % {"count": len(preview.statements)},
                    *(money(preview.totals[k]) for k in kinds),
                    sum(row["frozen"] for row in preview.statements),
                    money(preview.totals.get("payable", 0)),
                ],
            )
        return self.render_page(
            request, "admin/settlements/run_preview.html", gettext("Dry run of a settlement"), **context
        )
