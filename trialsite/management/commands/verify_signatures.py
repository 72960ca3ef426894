"""Check every e-signature against its record as stored: valid, voided, or void and why.

Exit status 1 when a signature not recorded as void no longer holds (its data changed
after signing, its key is not configured, its record is gone): the tamper alarm. A
signature recorded as void (a voided prescription, an unlocked visit) is listed with its
reason and is no failure.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trialsite.signatures import SignatureState, verify_all

VALID, VOIDED, VOID = "valid", "voided", "VOID"


def status_of(state: SignatureState) -> str:
    if state.valid:
        return VALID
    return VOIDED if state.signature.voided_at is not None else VOID


class Command(BaseCommand):
    help = "List every e-signature, valid or void and why; exit 1 if any no longer holds."

    def handle(self, *args: object, **options: object) -> None:
        counts = {VALID: 0, VOIDED: 0, VOID: 0}
        for state in verify_all():
            signature, status = state.signature, status_of(state)
            counts[status] += 1
            content_type = signature.content_type
            fields = [
                f"signature {signature.pk}",
                status,
                signature.meaning,
                f"{content_type.app_label}.{content_type.model} {signature.object_id}",
                signature.printed_name,
                signature.signed_at.isoformat(),
                f"key {signature.key_id or 'legacy (plain SHA-256)'}",
            ]
            if state.reason:
                fields.append(state.reason)
            self.stdout.write("\t".join(fields))
        total = sum(counts.values())
        self.stdout.write(
            f"{total} signatures: {counts[VALID]} valid, {counts[VOIDED]} voided as recorded, "
            f"{counts[VOID]} void"
        )
        if counts[VOID]:
            raise CommandError(f"{counts[VOID]} signatures no longer hold over their data")
