"""Building blocks of the catalog's staff screens: the action-view mixin, read-only admins
and small HTML helpers."""

from __future__ import annotations

import datetime
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from marketplace.errors import ConflictError, DomainError

from .. import selectors
from .actions import ObjectAction


def badge(colour: str, label) -> str:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;white-space:nowrap">{}</span>',
        colour,
        label,
    )


def when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def table(headers, rows) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def category_paths() -> dict[int, str]:
    return dict(selectors.category_choices(active_only=False))


class ObjectActionsMixin:
    """Confirmation views for `object_actions`, and their buttons on the change page.

    GET shows the form; POST calls the action's service. Staff need the model's view
    permission and the action's permissions (else 403, nothing changes); non-staff are sent
    to the admin login by `admin_view`, which also applies the CSRF check.
    """

    object_actions: list[ObjectAction] = []
    action_template = "admin/catalog/action_form.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        actions = [
            path(
                f"<path:object_id>/{action.name}/",
                self.admin_site.admin_view(partial(self.action_view, action=action)),
                name="{}_{}_{}".format(*info, action.name),
            )
            for action in self.object_actions
        ]
        return actions + super().get_urls()

    def _change_url(self, obj) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_change".format(*info), args=[obj.pk], current_app=self.admin_site.name)

    def _action_url(self, obj, action: ObjectAction) -> str:
        info = self.opts.app_label, self.opts.model_name, action.name
        return reverse("admin:{}_{}_{}".format(*info), args=[obj.pk], current_app=self.admin_site.name)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        buttons = []
        if obj is not None:
            buttons = [
                {"label": action.label, "url": self._action_url(obj, action)}
                for action in self.object_actions
                if request.user.has_perms(action.permissions) and action.available(obj)
            ]
        return super().change_view(
            request, object_id, form_url, extra_context={**(extra_context or {}), "object_actions": buttons}
        )

    def action_summary(self, request, obj) -> list[tuple[str, str]]:
        """(label, value) rows shown above the confirmation form."""
        return []

    def action_preview(self, request, obj, action: ObjectAction) -> str:
        """HTML shown above the confirmation form (what the reviewer decides on)."""
        return ""

    def action_view(self, request, object_id, action: ObjectAction) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not (self.has_view_permission(request, obj) and request.user.has_perms(action.permissions)):
            raise PermissionDenied
        change_url = self._change_url(obj)
        if request.method == "POST":
            form = action.form_class(request.POST, obj=obj)
            if form.is_valid():
                try:
                    message = action.perform(request, obj, form.cleaned_data)
                except DomainError as exc:
                    field = form.error_fields.get(exc.code)
                    if field in form.fields:
                        form.add_error(field, str(exc.message))
                    elif isinstance(exc, ConflictError):
                        # The state changed under the page (or it was stale): show the refusal
                        # on the change page, which shows the current state.
                        messages.error(request, str(exc.message))
                        return redirect(change_url)
                    else:
                        form.add_error(None, str(exc.message))
                else:
                    messages.success(request, message)
                    return redirect(change_url)
        else:
            if not action.available(obj):
                messages.error(
                    request,
                    gettext("“%(action)s” is not possible in the current state of “%(object)s”.")
                    % {"action": action.label, "object": obj},
                )
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
        }
        return TemplateResponse(request, self.action_template, context)


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


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
