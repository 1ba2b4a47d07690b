"""The second factor: time-based one-time passwords (django-otp's TOTP) with
backup codes (its static tokens).

- A user with a confirmed device gives a code after the password, at every
  sign-in; until then every page sends them to the code page.
- With CLE_REQUIRE_2FA on, a clinician (or a staff user) without a device is
  sent to enrol one before any page.
- Enrolment keeps the new key in the session until the first code from the
  app proves it: no half-enrolled device is ever stored. The QR code is
  drawn here as SVG (qrcode), never by an outside service.
"""

from __future__ import annotations

import base64
from io import BytesIO

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from audit.models import Event
from audit.services import log_user_event
from clinic.models import Membership, Role

# What the session says about the second factor (decided once, at sign-in).
STATE = "cle_2fa"
ASK, ENROL, OPTIONAL = "ask", "enrol", "optional"
PENDING_KEY = "cle_2fa_pending_key"
BACKUP_CODES = 10


# -- rules ---------------------------------------------------------------------------


def required_for(user) -> bool:
    """Whether the site makes this user have a second factor."""
    if not settings.CLE_REQUIRE_2FA:
        return False
    return user.is_staff or Membership.objects.filter(user=user, role=Role.CLINICIAN).exists()


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@receiver(user_logged_in, dispatch_uid="two_factor_state")
def _decide(sender, request, user, **kwargs) -> None:
    # Decided once per session, so a page costs no query for it.
    request.session[STATE] = ASK if has_device(user) else ENROL if required_for(user) else OPTIONAL


class SecondFactorMiddleware:
    """Holds a signed-in user at the code page (or the enrolment page) until
    the second factor is given."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not user.is_verified():
            state = request.session.get(STATE, OPTIONAL)
            target = {ASK: "two_factor_verify", ENROL: "two_factor_setup"}.get(state)
            if target and request.path not in (reverse(target), reverse("logout")):
                return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


# -- services ------------------------------------------------------------------------


def _totp_matches(key_hex: str, token: str) -> int | None:
    """The time step the code belongs to, or None (the clock may be a step off)."""
    try:
        value = int(token)
    except ValueError:
        return None
    totp = TOTP(bytes.fromhex(key_hex), step=30, t0=0, digits=6, drift=0)
    return totp.t() if totp.verify(value, tolerance=1) else None


@transaction.atomic
def enrol(user, key_hex: str, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """Store the authenticator app once its first code matches, with fresh
    backup codes; None if the code does not match."""
    step = _totp_matches(key_hex, token.strip().replace(" ", ""))
    if step is None:
        return None
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(
        user=user, name="Authenticator app", key=key_hex, confirmed=True, last_t=step
    )
    return device, new_backup_codes(user)


@transaction.atomic
def new_backup_codes(user) -> list[str]:
    """Replace the user's backup codes (each works once)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Backup codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    log_user_event(Event.SECOND_FACTOR, user, change="new backup codes")
    return codes


@transaction.atomic
def remove(user) -> None:
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user):
            device.delete()  # one by one: each removal is audited


# -- views ---------------------------------------------------------------------------


class CodeForm(forms.Form):
    token = forms.CharField(
        label="Code", max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
        help_text="The 6 digits your authenticator app shows now, or one of your backup codes.",
    )


class EnrolForm(CodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].help_text = "The 6 digits your authenticator app shows now."


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The code page after the password."""
    if request.user.is_verified():
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip().replace(" ", "")
        device = django_otp.match_token(request.user, token)
        if device is not None:
            django_otp.login(request, device)
            log_user_event(Event.SECOND_FACTOR_VERIFIED, request.user, device=device.name)
            return redirect(_next(request))
        log_user_event(Event.SECOND_FACTOR_FAILED, request.user)
        form.add_error("token", "That code is not right (or was used already). Try the next one.")
        status = 400
    return render(request, "registration/two_factor_verify.html",
                  {"form": form, "next": _next(request)}, status=status)


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan, type its first code, keep the backup codes."""
    key = request.session.get(PENDING_KEY)
    if key is None:
        key = request.session[PENDING_KEY] = random_hex(20)
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        enrolled = enrol(request.user, key, form.cleaned_data["token"])
        if enrolled is not None:
            device, codes = enrolled
            del request.session[PENDING_KEY]
            request.session[STATE] = ASK
            django_otp.login(request, device)
            return render(request, "registration/two_factor_codes.html",
                          {"codes": codes, "next": _next(request), "enrolled": True})
        form.add_error("token", "That code does not match. Check the app's clock and type the code it shows now.")
        status = 400
    device = TOTPDevice(user=request.user, key=key)
    context = {
        "form": form,
        "qr_svg": _qr_svg(device.config_url),
        "secret": base64.b32encode(bytes.fromhex(key)).decode(),
        "next": _next(request),
        "required": request.session.get(STATE) == ENROL,
    }
    return render(request, "registration/two_factor_setup.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    """The user's second factor: state, new backup codes, removal."""
    user = request.user
    enrolled = has_device(user)
    if request.method == "POST" and enrolled:
        action = request.POST.get("action")
        if action == "codes":
            return render(request, "registration/two_factor_codes.html",
                          {"codes": new_backup_codes(user), "next": reverse("two_factor")})
        if action == "remove":
            if required_for(user):
                messages.error(request, "This site requires a second factor of clinicians: "
                               "enrol a new app instead of removing it.")
            else:
                remove(user)
                request.session[STATE] = OPTIONAL
                messages.success(request, "Second factor removed.")
            return redirect("two_factor")
    backup_left = StaticToken.objects.filter(device__user=user).count()
    return render(request, "registration/two_factor.html", {
        "enrolled": enrolled, "backup_left": backup_left, "required": required_for(user),
    })
