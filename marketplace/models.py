"""Shared kernel models: the user account and the tamper-evident audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserManager(DjangoUserManager):
    """Users log in with their email; emails are stored lower-cased so lookups match."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractUser):
    """A person: buyer, merchant member or platform staff. Email is the login."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["id"]

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses the bulk forms of change, `update()` and `delete()`, with the model's
    `append_only_message`: an append-only table changes only by new rows."""

    def update(self, **kwargs):
        raise AppendOnlyError(self.model.append_only_message)

    def delete(self):
        raise AppendOnlyError(self.model.append_only_message)


class AppendOnlyModel:
    """Mixin (before `models.Model`) for records written once: saving a stored row or deleting
    one raises `AppendOnlyError` with `append_only_message`. Give the model
    `AppendOnlyQuerySet.as_manager()` too, or bulk updates and deletes would still pass.

    These guards catch mistakes in Python; the ledger's database triggers are what stop raw
    SQL."""

    append_only_message = "These records are append-only."

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(self.append_only_message)


class AuditLogEntry(AppendOnlyModel, models.Model):
    """One recorded action: who did what to which record, when and why.

    Entries form one hash chain per stream (the audited record, `object_type:object_id`, or
    `action:<action>` for entries about no record): `hash` = SHA-256(`prev_hash` + canonical
    content), `prev_hash` being the hash of the entry before it in its stream, so editing or
    deleting an entry breaks its stream's chain at that point (`manage.py verify_audit_chain`).
    `seq` orders all entries for reading (increasing, with gaps: it comes from a sequence).
    Entries are written only by `marketplace.audit.audit_record`.
    """

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True, editable=False)
    stream = models.CharField(_("stream"), max_length=200, db_collation="C", editable=False)
    stream_seq = models.PositiveBigIntegerField(_("number in stream"), editable=False)
    created_at = models.DateTimeField(_("time"), editable=False)
    actor = models.ForeignKey(
        User,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()
    append_only_message = "The audit log is append-only: entries cannot be changed or deleted."

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log entries")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [
            # Also the index `audit_chain_verify` walks the chains by, stream after stream.
            models.UniqueConstraint(fields=["stream", "stream_seq"], name="audit_entry_unique_stream_seq"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditStreamHead(models.Model):
    """The newest entry of one audit stream, one row per stream.

    `audit_record` locks this row (an upsert) to append to the stream, so appends to one
    stream are serialised and appends to different streams never wait for each other. It also
    makes a truncated stream visible: `audit_chain_verify` checks that the entry it names
    still exists with this hash. Written only by `marketplace.audit.audit_record`.
    """

    stream = models.CharField(_("stream"), max_length=200, primary_key=True, db_collation="C")
    seq = models.PositiveBigIntegerField(_("number of the newest entry"))
    hash = models.CharField(_("hash of the newest entry"), max_length=64)
    # The hash the newest entry links to (the head's hash before it was appended): the append's
    # one statement moves the head and reads this back for the entry's `prev_hash`, as an
    # upsert's RETURNING gives only the row's new values.
    prev_hash = models.CharField(_("hash of the entry before the newest"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("audit stream head")
        verbose_name_plural = _("audit stream heads")
        ordering = ["stream"]

    def __str__(self):
        return f"{self.stream} #{self.seq}"


class JobFailure(models.Model):
    """An item a periodic job could not handle, kept for staff to see (one row per job and
    item: a repeated failure counts up, a later success marks it resolved).

    Written only by `marketplace.jobs.run_each`, outside the item's failed transaction."""

    job = models.CharField(_("job"), max_length=100)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    code = models.CharField(_("error code"), max_length=100)
    message = models.TextField(_("message"), blank=True)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"), db_index=True)
    count = models.PositiveIntegerField(_("failures"), default=1)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("job failure")
        verbose_name_plural = _("job failures")
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "object_type", "object_id"], name="job_failure_unique_item"),
            models.CheckConstraint(condition=models.Q(count__gte=1), name="job_failure_count_positive"),
        ]
        indexes = [
            models.Index(fields=["job"], condition=models.Q(resolved_at__isnull=True), name="job_failure_open_idx")
        ]

    def __str__(self):
        return f"{self.job} {self.object_type}:{self.object_id} {self.code}"
