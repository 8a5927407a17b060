from __future__ import annotations

from django import forms
from django.conf import settings


class VerifyForm(forms.Form):
    """A credential to verify: pasted JSON, or a file (JSON, a badge with one baked in, or a
    certificate PDF with one attached)."""

    credential = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        label="Paste the credential JSON",
    )
    file = forms.FileField(
        required=False,
        label="Or choose a file",
        help_text="The credential's JSON file, its badge image (PNG or SVG), or its "
        "certificate (PDF), which carries the credential.",
    )
    too_large = False

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        text, upload = cleaned.get("credential"), cleaned.get("file")
        limit = settings.CREDENTIALS_VERIFY_MAX_BYTES
        if not text and not upload:
            raise forms.ValidationError("Paste a credential or choose a file to verify.")
        if upload is not None and upload.size > limit:
            self.too_large = True
            raise forms.ValidationError(f"That file is too large: at most {limit // 1024} KiB.")
        if text and len(text.encode("utf-8")) > limit:
            self.too_large = True
            raise forms.ValidationError(f"That text is too long: at most {limit // 1024} KiB.")
        return cleaned

    def data_to_verify(self) -> bytes:
        upload = self.cleaned_data.get("file")
        if upload is not None:
            return bytes(upload.read())
        return str(self.cleaned_data["credential"]).encode("utf-8")


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the public verification page and kept in the audit trail.",
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("Say why the credential is revoked.")
        return reason
