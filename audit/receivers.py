"""Account events into the audit: sign-in, failed sign-in, lockout, sign-out;
and which account models django-auditlog follows (users, second factors).

Django and django-axes announce these with signals; there is no service of
ours to call them from.
"""

from __future__ import annotations

from auditlog.registry import auditlog
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Event
from audit.services import log_user_event

# Staff, superuser, deactivation, renaming, password: each save is one entry;
# the password itself is masked, last_login (every sign-in) is left out.
auditlog.register(
    get_user_model(),
    include_fields=["username", "first_name", "last_name", "email", "is_staff", "is_superuser",
                    "is_active", "password"],
    mask_fields=["password"],
    # Not even part of the hash: django-auditlog's own mask keeps half of it.
    mask_callable="audit.receivers.hidden",
)
def hidden(value) -> str:
    return "(hidden)"


# Enrolment and removal of a second factor; the secret key is never logged.
for device in (TOTPDevice, StaticDevice):
    auditlog.register(device, include_fields=["user", "name", "confirmed"])


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def _signed_in(sender, request, user, **kwargs) -> None:
    log_user_event(Event.SIGN_IN, user)


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def _signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        reason = getattr(request, "audit_sign_out_reason", None)
        event = Event.SIGNED_OUT_IDLE if reason else Event.SIGN_OUT
        log_user_event(event, user, **({"reason": reason} if reason else {}))


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model()._default_manager.filter(username=username).first()
    log_user_event(Event.SIGN_IN_FAILED, user, username=username)


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs) -> None:
    username = str(username or "")[:150]
    user = get_user_model()._default_manager.filter(username=username).first()
    log_user_event(Event.LOCKED_OUT, user, username=username)
