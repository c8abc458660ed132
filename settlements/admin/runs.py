"""Settlement runs: the list with each run's progress, starting a run, the dry run (a Celery
job: its page refreshes itself while it runs, then shows its result paginated, with a CSV), the
run's page (refreshing itself while the workers settle its batches), and finance's exports of a
period."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import CreateOnlyAdmin, ObjectActionsMixin, badge, colour_class, form_error, money, table
from marketplace.errors import DomainError

from .. import period_exports, permissions, selectors, services
from ..choices import LineKind, RunStatus
from ..models import DryRun, DryRunState, SettlementRun
from ..models_dryruns import ACTIVE_STATES

#: The dry run's result page lists this many merchants at a time.
DRY_RUN_ROWS_PER_PAGE = 100
#: The dry run page lists the latest dry runs.
DRY_RUNS_LISTED = 20

RUN_COLOURS = {RunStatus.RUNNING: "#0d6efd", RunStatus.COMPLETED: "#198754", RunStatus.FAILED: "#dc3545"}


class PeriodForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), max_length=7, help_text=_("The month, e.g. 2026-10."), widget=forms.TextInput({"size": 8})
    )
    error_fields = {"invalid_period": "period", "period_not_ended": "period"}


class PeriodExportForm(PeriodForm):
    report = forms.ChoiceField(label=_("Report"), choices=period_exports.REPORT_CHOICES)
    format = forms.ChoiceField(label=_("Format"), choices=period_exports.FORMAT_CHOICES)


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
        return [
            self.staff_page("preview/", self.preview_view, "preview", permissions.RUN_START),
            self.staff_page("preview/<int:dry_run_id>/", self.dry_run_view, "dry_run", permissions.RUN_START),
            self.staff_page(
                "preview/<int:dry_run_id>/status/", self.dry_run_status_view, "dry_run_status", permissions.RUN_START
            ),
            self.staff_page(
                "preview/<int:dry_run_id>/csv/", self.dry_run_csv_view, "dry_run_csv", permissions.RUN_START
            ),
            self.staff_page("exports/", self.exports_view, "exports", permissions.PERIOD_EXPORT),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {
            **(extra_context or {}),
            "preview_url": self.page_url("preview") if permissions.RUN_START.allows(request.user) else None,
            "exports_url": self.page_url("exports") if permissions.PERIOD_EXPORT.allows(request.user) else None,
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
        """The dry run: a POST queues the job (or joins the one of the period already going)
        and goes to its page; a GET lists the latest dry runs."""
        form = PeriodForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                dry_run = services.dry_run_start(period=form.cleaned_data["period"], actor=request.user)
            except DomainError as exc:
                form_error(form, exc)
            else:
                return redirect(self.page_url("dry_run", dry_run.pk))
        recent = DryRun.objects.select_related("started_by")[:DRY_RUNS_LISTED]
        response = self.render_page(
            request,
            "admin/settlements/run_preview.html",
            gettext("Dry run of a settlement"),
            form=form,
            dry_runs_table=table(
                [
                    gettext("dry run"),
                    gettext("state"),
                    gettext("progress"),
                    gettext("started by"),
                    gettext("requested"),
                ],
                (
                    (
                        format_html('<a href="{}">{}</a>', self.page_url("dry_run", d.pk), d),
                        d.get_state_display(),
                        f"{d.merchants_done} / {d.merchants_total}",
                        d.started_by or "—",
                        date_format(timezone.localtime(d.created_at), "DATETIME_FORMAT"),
                    )
                    for d in recent
                ),
            ),
        )
        if form.is_bound and form.errors:
            response.status_code = 400
        return response

    def _dry_run(self, dry_run_id: int) -> DryRun:
        return get_object_or_404(DryRun.objects.select_related("started_by"), pk=dry_run_id)

    def dry_run_view(self, request, dry_run_id: int):
        """One dry run: its progress while it runs (the page refreshes itself; the CSP allows
        no inline script), its error if it failed, then its rows, paginated, with the totals."""
        dry_run = self._dry_run(dry_run_id)
        context = {
            "dry_run": dry_run,
            "active": dry_run.state in ACTIVE_STATES,
            "progress": dry_run_progress(dry_run),
            "status_url": self.page_url("dry_run_status", dry_run.pk),
        }
        if dry_run.state == DryRunState.COMPLETED:
            totals = {kind: Decimal(amount) for kind, amount in dry_run.totals.items()}
            kinds = selectors.preview_columns(totals)
            page = Paginator(dry_run.rows.order_by("merchant_id"), DRY_RUN_ROWS_PER_PAGE).get_page(
                request.GET.get("page")
            )
            context["page"] = page
            context["csv_url"] = self.page_url("dry_run_csv", dry_run.pk)
            context["rows_table"] = table(
                [
                    gettext("merchant"),
                    *(LineKind(k).label for k in kinds),
                    gettext("frozen orders"),
                    gettext("payable"),
                ],
                (
                    (
                        row.merchant,
                        *(money(Decimal(row.lines[k])) if k in row.lines else "" for k in kinds),
                        row.frozen,
                        money(row.payable),
                    )
                    for row in page.object_list
                ),
                foot=[
                    gettext("Total (%(count)d)") % {"count": page.paginator.count},
                    *(money(totals[k]) for k in kinds),
                    dry_run.rows.aggregate(n=Coalesce(Sum("frozen"), 0))["n"],
                    money(totals.get("payable", Decimal("0.00"))),
                ],
            )
        return self.render_page(
            request, "admin/settlements/dry_run.html", gettext("Dry run %(run)s") % {"run": dry_run}, **context
        )

    def dry_run_status_view(self, request, dry_run_id: int):
        """The job's state and progress as JSON, for whatever polls it."""
        dry_run = self._dry_run(dry_run_id)
        return JsonResponse(
            {
                "id": dry_run.pk,
                "period": dry_run.period,
                "state": dry_run.state,
                "done": dry_run.merchants_done,
                "total": dry_run.merchants_total,
                "started_at": dry_run.started_at.isoformat() if dry_run.started_at else None,
                "finished_at": dry_run.finished_at.isoformat() if dry_run.finished_at else None,
                "error": dry_run.error,
            }
        )

    def dry_run_csv_view(self, request, dry_run_id: int):
        """A completed dry run's rows and totals as CSV, streamed."""
        dry_run = self._dry_run(dry_run_id)
        if dry_run.state != DryRunState.COMPLETED:
            raise Http404(gettext("This dry run has no result yet."))
        lines = (line.encode("utf-8") for line in period_exports.dry_run_csv(dry_run))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="dry-run-{dry_run.period}-{dry_run.pk}.csv"'
        return response

    def exports_view(self, request):
        """Finance's exports of a period: statements, reconciliation, ledger journal; CSV or
        Excel. A bound form that is not valid answers 400 with its errors."""
        form = PeriodExportForm(request.GET or None)
        if form.is_bound and form.is_valid():
            try:
                return period_exports.download(**form.cleaned_data)
            except DomainError as exc:
                form_error(form, exc)
        response = self.render_page(
            request, "admin/settlements/period_export.html", gettext("Export a period"), form=form
        )
        if form.is_bound:
            response.status_code = 400
        return response


def dry_run_progress(dry_run: DryRun) -> str:
    total = dry_run.merchants_total
    done = min(dry_run.merchants_done, total)
    percent = 100 if dry_run.state == DryRunState.COMPLETED or total == 0 else int(100 * done / total)
    colour = {DryRunState.COMPLETED: "#198754", DryRunState.FAILED: "#dc3545"}.get(dry_run.state, "#0d6efd")
    return format_html(
        '<progress class="mp-progress {}" max="100" value="{}">{}%</progress>{}',
        colour_class(colour),
        percent,
        percent,
        gettext("%(done)d / %(total)d merchants") % {"done": done, "total": total},
    )
