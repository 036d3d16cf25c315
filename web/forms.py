"""Forms of the pages. Shape only: every rule lives in the services they are handed to."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from groups.models import Membership

GROUP_NAME = RegexValidator(
    r"^[\w][\w .,()'-]*$",
    "Start with a letter or digit; then letters, digits, spaces and . , ( ) ' - only.",
)


class GroupCreateForm(forms.Form):
    name = forms.CharField(max_length=150, validators=[GROUP_NAME])
    institution = forms.CharField(max_length=255, required=False)
    contact_email = forms.EmailField(required=False, label="Contact e-mail")


class GroupDetailsForm(forms.Form):
    institution = forms.CharField(max_length=255, required=False)
    contact_email = forms.EmailField(required=False, label="Contact e-mail")


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MemberRoleForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class TokenCreateForm(forms.Form):
    LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year")]

    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="What the token is for, e.g. “sequencer upload script”.",
    )
    expires_in_days = forms.TypedChoiceField(
        choices=LIFETIMES, coerce=int, initial="90", label="Expires after"
    )


class FileFilterForm(forms.Form):
    STATUSES = [
        ("", "any status"),
        ("verified", "verified"),
        ("requested", "requested"),
        ("uploaded", "uploaded"),
        ("failed", "failed"),
        ("expired", "expired"),
    ]

    q = forms.CharField(required=False, label="Name contains", max_length=255)
    status = forms.ChoiceField(choices=STATUSES, required=False)
    all_versions = forms.BooleanField(required=False, label="Show every version")

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {"q": "", "status": "", "all_versions": False}
        return self.cleaned_data
