"""Staff pages: who works here, in which roles, their last sign-in; invitations; deactivation."""

from __future__ import annotations

import dataclasses

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from katclinic.accounts.models import FAMILY_NAME_LENGTH, FULL_NAME_LENGTH, User
from katclinic.clinics import second_factor, staff
from katclinic.clinics.access import deny, staff_view
from katclinic.clinics.http import StaffRequest
from katclinic.clinics.models import Invitation, SecondFactorReset, StaffMembership
from katclinic.clinics.permissions import Perm, Role


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices)


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )


def _family_name_field() -> forms.CharField:
    return forms.CharField(
        max_length=FAMILY_NAME_LENGTH, required=False, help_text=staff.FAMILY_NAME_HELP
    )


class NameForm(forms.Form):
    full_name = forms.CharField(max_length=FULL_NAME_LENGTH)
    family_name = _family_name_field()


class AcceptForm(forms.Form):
    email = forms.EmailField(max_length=254)
    full_name = forms.CharField(max_length=FULL_NAME_LENGTH)
    family_name = _family_name_field()
    password = forms.CharField(
        label="Passphrase",
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


@dataclasses.dataclass
class Person:
    """One row of the staff page: a person, their active roles here and their two forms."""

    user: User
    roles: list[str] = dataclasses.field(default_factory=list)
    form: RolesForm | None = None
    name_form: NameForm | None = None


def _people(request: StaffRequest) -> list[Person]:
    memberships = StaffMembership.objects.filter(clinic=request.clinic).select_related("user")
    people: dict[int, Person] = {}
    for m in memberships.order_by("user__full_name"):
        person = people.setdefault(m.user_id, Person(user=m.user))
        if m.is_active:
            person.roles.append(m.role)
    for person in people.values():
        person.form = RolesForm(initial={"roles": person.roles})
        person.name_form = _name_form(person.user)
    return list(people.values())


def _name_form(user: User, data: QueryDict | None = None) -> NameForm:
    """The name form of one person on the staff page (its field ids name the person)."""
    initial = {"full_name": user.full_name, "family_name": user.family_name}
    return NameForm(data, initial=initial, auto_id=f"id_%s_{user.pk}")


def _render_list(
    request: StaffRequest,
    form: InviteForm,
    status: int = 200,
    failed: tuple[int, NameForm] | None = None,
) -> HttpResponse:
    """The staff page; `failed` is a person's refused name form, shown with its errors."""
    pending = Invitation.objects.filter(clinic=request.clinic, accepted_at__isnull=True)
    people = _people(request)
    if failed is not None:
        for entry in people:
            if entry.user.pk == failed[0]:
                entry.name_form = failed[1]
    context = {"people": people, "form": form, "pending": pending.order_by("-created_at")}
    return render(request, "clinics/staff.html", context, status=status)


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET"])
def staff_list(request: StaffRequest) -> HttpResponse:
    return _render_list(request, InviteForm())


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def staff_invite(request: StaffRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _render_list(request, form, status=400)
    staff.invite(
        request=request,
        clinic=request.clinic,
        by=request.user,
        email=form.cleaned_data["email"],
        role=Role(form.cleaned_data["role"]),
    )
    messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    return redirect("clinics:staff")


def _member(request: StaffRequest, user_id: int) -> User:
    """A person with a role (current or past) at the active clinic, or 404."""
    if not StaffMembership.objects.filter(clinic=request.clinic, user_id=user_id).exists():
        raise Http404
    return User.objects.get(pk=user_id)


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def staff_roles(request: StaffRequest, user_id: int) -> HttpResponse:
    person = _member(request, user_id)
    form = RolesForm(request.POST)
    if form.is_valid():
        roles = {Role(r) for r in form.cleaned_data["roles"]}
        try:
            staff.set_roles(
                request=request, clinic=request.clinic, by=request.user, user=person, roles=roles
            )
        except staff.StaffChangeRefused as exc:
            messages.error(request, str(exc))
            return _render_list(request, InviteForm(), status=400)
        messages.success(request, f"Roles of {person} changed.")
        return redirect("clinics:staff")
    messages.error(request, "Choose roles from the list.")
    return _render_list(request, InviteForm(), status=400)


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def staff_name(request: StaffRequest, user_id: int) -> HttpResponse:
    """Record a person's full name and, on its own, their family name."""
    person = _member(request, user_id)
    form = _name_form(person, request.POST)
    if form.is_valid():
        try:
            staff.set_name(
                request=request,
                clinic=request.clinic,
                by=request.user,
                user=person,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field, problems)
        else:
            messages.success(request, f"Name of {person} saved.")
            return redirect("clinics:staff")
    return _render_list(request, InviteForm(), status=400, failed=(person.pk, form))


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def staff_deactivate(request: StaffRequest, user_id: int) -> HttpResponse:
    person = _member(request, user_id)
    try:
        staff.deactivate(request=request, clinic=request.clinic, by=request.user, user=person)
    except staff.StaffChangeRefused as exc:
        messages.error(request, str(exc))
        return _render_list(request, InviteForm(), status=400)
    messages.success(request, f"{person} is deactivated and signed out everywhere.")
    return redirect("clinics:staff")


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = staff.open_invitation(token)
    if invitation is None:
        return render(request, "clinics/invitation_gone.html", status=404)
    form = AcceptForm(request.POST or None, initial={"email": invitation.email})
    if request.method == "POST" and form.is_valid():
        try:
            staff.accept(request=request, token=token, **form.cleaned_data)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            return redirect("accounts:setup_second_factor")
    context = {"form": form, "invitation": invitation}
    status = 400 if form.errors else 200
    return render(request, "clinics/accept_invitation.html", context, status=status)


def _second_factor_context(request: StaffRequest) -> dict[str, object]:
    admins = second_factor.admins_of(request.clinic)
    return {
        "open_requests": second_factor.open_requests(request.clinic),
        "admins": admins,
        "single_admin": len(admins) < 2,
    }


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET"])
def second_factor_list(request: StaffRequest) -> HttpResponse:
    """Authenticator resets waiting for a second administrator's confirmation."""
    return render(request, "clinics/second_factor.html", _second_factor_context(request))


@staff_view(Perm.MANAGE_CLINIC)
@require_http_methods(["GET", "POST"])
def second_factor_request(request: StaffRequest, user_id: int) -> HttpResponse:
    """Ask for a person's authenticator to be reset; another administrator confirms."""
    person = _member(request, user_id)
    error = ""
    if request.method == "POST":
        try:
            second_factor.request_reset(
                request=request,
                clinic=request.clinic,
                by=request.user,
                user=person,
                reason=request.POST.get("reason", ""),
            )
        except second_factor.ResetRefused as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                f"Reset of {person}'s second sign-in step requested. "
                "A different administrator must confirm it.",
            )
            return redirect("clinics:second_factor")
    context = {**_second_factor_context(request), "person": person, "error": error}
    return render(
        request, "clinics/second_factor_request.html", context, status=400 if error else 200
    )


def _reset_here(request: StaffRequest, reset_id: int) -> None:
    """404 (recorded) for a reset request of another clinic, or none at all."""
    if not SecondFactorReset.objects.filter(pk=reset_id, clinic=request.clinic).exists():
        deny(request, reason="no such reset request in the active clinic", not_found=True)


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def second_factor_confirm(request: StaffRequest, reset_id: int) -> HttpResponse:
    _reset_here(request, reset_id)
    try:
        ended = second_factor.confirm_reset(
            request=request, reset_id=reset_id, clinic=request.clinic, by=request.user
        )
    except second_factor.ResetRefused as exc:
        messages.error(request, str(exc))
        context = _second_factor_context(request)
        return render(request, "clinics/second_factor.html", context, status=400)
    messages.success(
        request,
        f"Authenticator app, recovery codes and passkeys removed and {ended} session(s) ended. "
        "The person sets up a new authenticator at their next sign-in.",
    )
    return redirect("clinics:second_factor")


@staff_view(Perm.MANAGE_CLINIC)
@require_POST
def second_factor_cancel(request: StaffRequest, reset_id: int) -> HttpResponse:
    _reset_here(request, reset_id)
    try:
        second_factor.cancel_reset(
            request=request, reset_id=reset_id, clinic=request.clinic, by=request.user
        )
    except second_factor.ResetRefused as exc:
        messages.error(request, str(exc))
        context = _second_factor_context(request)
        return render(request, "clinics/second_factor.html", context, status=400)
    messages.success(request, "Reset request cancelled.")
    return redirect("clinics:second_factor")
