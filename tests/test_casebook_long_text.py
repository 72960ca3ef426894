"""Issue 16: the casebook always builds, whatever a field holds.

A 100 kB AE description made that participant's casebook impossible to build (ReportLab
LayoutError: a table row taller than a page), even after the description was corrected,
because the audit appendix keeps the old text. Long texts are now cut into pieces of at
most a page, each its own row, in the record and in its audit trail; a word longer than a
line is broken. Array values read as a person reads them, not as Python lists.
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from exports.casebook import build_casebook
from tests.factories.crf import make_participant, record_ae

pytestmark = pytest.mark.django_db

WORD = "Z" * 5_000  # one 5 kB word, no space to break it at
SENTENCE = "The patient reported worsening parotid swelling with fever and fatigue. "
LONG = (SENTENCE * (100_000 // len(SENTENCE))) + WORD + " END-OF-DESCRIPTION"


def test_a_100_kb_description_then_corrected_still_builds_its_casebook(
    site_pumch, coordinator_pumch, investigator_pumch, figure
):
    participant = make_participant(
        site=site_pumch, coordinator=coordinator_pumch, investigator=investigator_pumch
    )
    event = record_ae(participant, coordinator_pumch, description=LONG)
    assert len(event.description) > 100_000
    record_ae(
        participant,
        coordinator_pumch,
        instance=event,
        description="Parotid swelling with fever.",
        reason_for_change="description pasted twice by mistake",
    )

    pdf = build_casebook(participant, generated_by="test")

    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = "".join(text.split())
    assert "Parotidswellingwithfever." in flat  # the record as corrected
    assert "END-OF-DESCRIPTION" in flat  # the old text, whole, in the audit trail
    # The 5 kB word, broken across lines and pages (the page header between the pieces),
    # complete in both events of the audit trail (created with it, corrected from it).
    assert flat.count("Z") >= 2 * len(WORD)
    assert "descriptionpastedtwicebymistake" in flat
    assert "['" not in text  # no Python list in the audit trail
    assert "Requiresorprolongsinpatienthospitalisation" in flat
    figure(
        "casebook with long texts",
        f"an AE with a {len(LONG) // 1000} kB description (and a 5 kB word), then corrected: "
        f"casebook built, {len(reader.pages)} pages",
    )
