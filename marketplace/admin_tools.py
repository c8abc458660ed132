"""Building blocks of the staff screens of every app: object actions (a button on a change
page, a confirmation form calling one service), page views outside any one record,
read-only admins and inlines, and small HTML helpers.

Every view goes through `admin_site.admin_view`: non-staff are sent to the login page and
POSTs are CSRF-checked. Each action and page names the staff action it performs
(`marketplace.staff_actions`, declared in `<app>/permissions.py`, the declaration the API
uses too); staff it does not allow get 403 and nothing changes. A service's `DomainError`
becomes a form error (or, for a conflict on a record, a message on its page); nothing here
decides a business rule.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial, wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from marketplace.errors import ConflictError, DomainError
from marketplace.forms import add_domain_error
from marketplace.money import format_cny
from marketplace.staff_actions import StaffAction

#: In `ActionForm.error_fields`: show the service's refusal above the form (not on a field).
NON_FIELD = "__all__"


def colour_class(colour: str) -> str:
    """The CSS class of a palette colour ("#dc3545" → "mp-c-dc3545", in static/css/admin.css):
    the Content-Security-Policy refuses inline style attributes, so colours are classes."""
    return "mp-c-" + colour.lstrip("#").lower()


def badge(colour: str, label) -> str:
    return format_html('<span class="mp-badge {}">{}</span>', colour_class(colour), label)


def when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def money(value) -> str:
    return "—" if value is None else format_cny(value)


def table(headers, rows, *, foot=None) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows)
    )
    tail = ""
    if foot is not None:
        tail = format_html("<tfoot><tr>{}</tr></tfoot>", format_html_join("", "<th>{}</th>", ((c,) for c in foot)))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody>{}</table>", head, body, tail)


def admin_url(obj, view: str = "change") -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


def link(obj, label=None) -> str:
    if obj is None:
        return "—"
    return format_html('<a href="{}">{}</a>', admin_url(obj), label if label is not None else obj)


def form_error(form: forms.Form, exc: DomainError) -> bool:
    """Put a service's refusal on the form; False when it belongs on the record's page."""
    field = getattr(form, "error_fields", {}).get(exc.code)
    if field in form.fields:
        form.add_error(field, str(exc.message))
        return True
    if field == NON_FIELD or not isinstance(exc, ConflictError):
        form.add_error(None, str(exc.message))
        return True
    return False


class ActionForm(forms.Form):
    """A confirmation form for one action on one record (`obj`)."""

    #: Service error codes shown on a field of the form (or NON_FIELD) rather than as a message.
    error_fields: dict[str, str] = {}

    def __init__(self, *args, obj=None, **kwargs):
        self.obj = obj
        super().__init__(*args, **kwargs)


class ConfirmForm(ActionForm):
    pass


def always(obj) -> bool:
    return True


@dataclass(frozen=True)
class ObjectAction:
    """An object-tools button of a change page and the confirmation view behind it.

    `perform(request, obj, cleaned_data)` calls one service and returns the success message,
    or an HttpResponse to send as it is (a file). It may raise `forms.ValidationError` to show
    errors on the form. `available` only decides whether the button shows: the service is
    the authority and re-checks under lock. `staff_action` is the declaration that decides
    who may use it (the API's endpoint for the same service uses it too); an action without
    one is refused at start-up.
    """

    name: str
    label: Any
    form_class: type[ActionForm]
    perform: Callable[[HttpRequest, Any, dict], Any]
    available: Callable[[Any], bool] = always
    staff_action: StaffAction | None = None
    help_text: Any = ""
    multipart: bool = False

    def __post_init__(self):
        if not isinstance(self.staff_action, StaffAction):
            raise ValueError(f"The admin action {self.name!r} declares no staff action.")

    @property
    def permissions(self) -> tuple[str, ...]:
        return self.staff_action.permissions

    def allows(self, user) -> bool:
        return self.staff_action.allows(user)


def changelist_action(staff_action: StaffAction, *, description) -> Callable:
    """A bulk action of a changelist (`ModelAdmin.actions`) for staff `staff_action` allows:
    others do not see it, and a forged POST is refused (403, nothing changes)."""

    def decorator(func):
        @admin.action(description=description)
        @wraps(func)
        def checked(modeladmin, request, queryset):
            if not staff_action.allows(request.user):
                raise PermissionDenied
            return func(modeladmin, request, queryset)

        checked.staff_action = staff_action
        return checked

    return decorator


def staff_view(view: Callable, staff_action: StaffAction) -> Callable:
    """`view`, refused (403, nothing done) to staff `staff_action` does not allow.

    The declaration stays readable on the view (`view.staff_action`), so a test can list
    every admin page with the action it performs.
    """

    def guarded(request, *args, **kwargs):
        if not staff_action.allows(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    guarded.staff_action = staff_action
    return guarded


class ObjectActionsMixin:
    """Confirmation views for `object_actions`, and their buttons on the change page.

    GET shows the form; POST calls the action's service. Staff need what the action's
    declaration names (else 403, nothing changes).

    A page of the model's collection is `self.staff_page(...)`, with the staff action it
    performs. An `add_view` that calls a service names its declaration in `add_action`, which
    then decides `has_add_permission`; `view_action`, when the API reads the same records,
    decides `has_view_permission` (the list and the record's page).
    """

    object_actions: list[ObjectAction] = []
    add_action: StaffAction | None = None
    view_action: StaffAction | None = None
    action_template = "admin/action_form.html"
    change_form_template = "admin/change_form_with_actions.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        actions = [
            path(
                f"<path:object_id>/{action.name}/",
                self.admin_site.admin_view(staff_view(partial(self.action_view, action=action), action.staff_action)),
                name="{}_{}_{}".format(*info, action.name),
            )
            for action in self.object_actions
        ]
        return actions + self.page_urls() + super().get_urls()

    def page_urls(self) -> list:
        """Views of the model's collection (not of one record), before the admin's own: each
        made with `staff_page`."""
        return []

    def staff_page(self, route: str, view: Callable, name: str, staff_action: StaffAction):
        """The URL of a page of this model's section, for staff `staff_action` allows."""
        info = self.opts.app_label, self.opts.model_name, name
        return path(route, self.admin_site.admin_view(staff_view(view, staff_action)), name="{}_{}_{}".format(*info))

    def has_add_permission(self, request):
        if self.add_action is not None:
            return self.add_action.allows(request.user)
        return super().has_add_permission(request)

    def has_view_permission(self, request, obj=None):
        if self.view_action is not None:
            return self.view_action.allows(request.user)
        return super().has_view_permission(request, obj)

    def get_actions(self, request):
        # Bulk actions made with `changelist_action` show only to staff their declaration allows.
        actions = super().get_actions(request)
        return {
            name: entry
            for name, entry in actions.items()
            if getattr(entry[0], "staff_action", None) is None or entry[0].staff_action.allows(request.user)
        }

    def page_url(self, name: str, *args) -> str:
        info = self.opts.app_label, self.opts.model_name, name
        return reverse("admin:{}_{}_{}".format(*info), args=args, current_app=self.admin_site.name)

    def _change_url(self, obj) -> str:
        return self.page_url("change", obj.pk)

    def action_buttons(self, request, obj) -> list[dict]:
        return [
            {"label": action.label, "url": self.page_url(action.name, obj.pk)}
            for action in self.object_actions
            if action.allows(request.user) and action.available(obj)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        buttons = self.action_buttons(request, obj) if obj is not None else []
        extra = {**(extra_context or {}), "object_actions": buttons}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def action_summary(self, request, obj) -> list[tuple[str, str]]:
        """(label, value) rows shown above the confirmation form."""
        return []

    def action_preview(self, request, obj, action: ObjectAction) -> str:
        """HTML shown above the confirmation form (what the reviewer decides on)."""
        return ""

    def action_context(self, request, obj, action: ObjectAction) -> dict:
        """More context for an `action_template` of the model's own."""
        return {}

    def action_unavailable(self, obj, action: ObjectAction) -> str:
        """Why the action's page is refused in the record's current state."""
        return gettext("“%(action)s” is not possible in the current state of “%(object)s”.") % {
            "action": action.label,
            "object": obj,
        }

    def action_view(self, request, object_id, action: ObjectAction) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not action.allows(request.user):
            raise PermissionDenied
        change_url = self._change_url(obj)
        if request.method == "POST":
            form = action.form_class(request.POST, request.FILES, obj=obj)
            if form.is_valid():
                try:
                    result = action.perform(request, obj, form.cleaned_data)
                except forms.ValidationError as exc:
                    form.add_error(None, exc)
                except DomainError as exc:
                    if not form_error(form, exc):
                        # The state changed under the page (or it was stale): show the refusal
                        # on the record's page, which shows the current state.
                        messages.error(request, str(exc.message))
                        return redirect(change_url)
                else:
                    if isinstance(result, HttpResponse):
                        return result
                    messages.success(request, result)
                    return redirect(change_url)
        else:
            if not action.available(obj):
                messages.error(request, self.action_unavailable(obj, action))
                return redirect(change_url)
            form = action.form_class(obj=obj)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"{action.label}: {obj}",
            "action": action,
            "form": form,
            "change_url": change_url,
            "summary": self.action_summary(request, obj),
            "preview": self.action_preview(request, obj, action),
            **self.action_context(request, obj, action),
        }
        return TemplateResponse(request, self.action_template, context)

    def render_page(self, request, template: str, title, **context) -> TemplateResponse:
        """A page of this model's section (breadcrumbs to its list)."""
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "changelist_url": self.page_url("changelist"),
                **context,
            },
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by services: staff look, never add, edit or delete."""

    def get_readonly_fields(self, request, obj=None):
        return [*(f.name for f in self.model._meta.fields), *self.readonly_fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CreateOnlyAdmin(ReadOnlyAdmin):
    """Records created on the add page, whose `add_view` calls a service; never edited."""

    def has_add_permission(self, request):
        return admin.ModelAdmin.has_add_permission(self, request)

    def save_model(self, request, obj, form, change):
        # The subclass's add_view creates through its service (audit row, transaction): Django's
        # default save must never be reached from here.
        raise NotImplementedError(f"{type(self).__name__}.add_view creates through a service")


class ReadOnlyInline(admin.TabularInline):
    """Rows shown as part of their parent. With `parent_permission`, whoever holds it (may
    view the parent) sees them without a permission on the rows' own model."""

    extra = 0
    can_delete = False
    show_change_link = False
    parent_permission = ""

    def get_readonly_fields(self, request, obj=None):
        if self.fields:
            return list(dict.fromkeys([*self.fields, *self.readonly_fields]))
        return super().get_readonly_fields(request, obj)

    def has_view_permission(self, request, obj=None):
        if self.parent_permission:
            return request.user.has_perm(self.parent_permission)
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _ServiceRefused(Exception):
    """A service refused the admin's save: carries its `DomainError` out of the admin's
    transaction (which an exception rolls back) to `ServiceEditAdmin.changeform_view`."""

    def __init__(self, error: DomainError):
        super().__init__(str(error))
        self.error = error


class ServiceEditAdmin:
    """A ModelAdmin mixin whose add, change and delete pages call services, which lock, check
    and audit the edit, instead of Django's defaults that write the model directly.

    A subclass defines `create(request, fields)` (returns the new row), `update(request, obj,
    changes)` (only the fields the form changed) and `delete(request, objs)`; the admin's own
    validation, messages, log entries and redirects stay as they are.

    The services decide the rules: a `DomainError` from `create`/`update` leaves the admin's
    transaction (nothing of the save stays, no log entry) and the page shows the form again
    with the refusal on it (`marketplace.forms.add_domain_error`: on the field the form's
    `error_fields` names for the code, else above the form).
    """

    def create(self, request, fields: dict):
        raise NotImplementedError

    def update(self, request, obj, changes: dict) -> None:
        raise NotImplementedError

    def delete(self, request, objs: list) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        try:
            if change:
                self.update(request, obj, {name: form.cleaned_data[name] for name in form.changed_data})
                return
            # The admin's message, log entry and redirect name the form's instance: give it the new row's id.
            obj.pk = self.create(request, dict(form.cleaned_data)).pk
        except DomainError as error:
            raise _ServiceRefused(error) from error

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _ServiceRefused as refused:
            # The admin's transaction has rolled back. The admin has no hook between saving and
            # answering, so the page is built again from the same POST, its form refused by
            # `get_form` below: the same form, with the service's words on it.
            request.service_refusal = refused.error
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "service_refusal", None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned = super().clean()
                add_domain_error(self, refusal)
                return cleaned

        return RefusedForm

    def delete_model(self, request, obj):
        self.delete(request, [obj])

    def delete_queryset(self, request, queryset):
        self.delete(request, list(queryset))


class QueueOrderingMixin:
    """A changelist that lists what waits for staff first (`queue_first`: the status that
    waits), then by `queue_then`.

    The rank is an annotation (`queue_rank`) the ordering names, not a CASE written into the
    ordering: a search across a multi-valued relation makes the admin's query SELECT DISTINCT,
    which PostgreSQL only accepts with ORDER BY expressions that are in the select list; with
    server-side binding (prepared statements) a CASE in both places is two different
    expressions ($1 and $3), so the queue page failed when searched."""

    queue_first: tuple[str, Any]
    queue_then: list = []

    def get_queryset(self, request):
        # ModelAdmin.get_queryset as Django writes it, with the rank annotated before the
        # ordering that names it is applied (super() would order first and fail).
        field, value = self.queue_first
        rank = Case(When(**{field: value}, then=Value(0)), default=Value(1), output_field=IntegerField())
        queryset = self.model._default_manager.get_queryset().annotate(queue_rank=rank)
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["queue_rank", *self.queue_then]
