"""Issue 19: in 简体中文 the demo trial's pages show no English sentence.

The dashboard, the participant list, every participant's page, the deviation list, the
query list and every query page are rendered (test client) and their visible text scanned
for Latin words; what may stay Latin is listed here: codes (INC1, W12, PUMCH-004), units,
instrument and test names, and the names people were given (data, not the system's words).
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from demo import seed as demo
from enrollment.models import Participant
from monitoring.models import DataQuery
from tests.factories.crf import today
from trialsite.models import User

pytestmark = pytest.mark.django_db

# A run of Latin letters (with what may join them inside a code or a unit).
TOKEN = re.compile(r"[A-Za-z0-9µ][A-Za-z0-9µ_./²³⁹⁻×%+\-']*")
# Units, instruments, tests and names of standards that stay as they are in Chinese text.
ALLOWED = {
    # units
    "g/L",
    "mg/L",
    "mm/h",
    "mL",
    "L",
    "mg",
    "kg",
    "cm",
    "m",
    "m²",
    "mg/m²",
    "mg/kg",
    "µmol/L",
    "µmol",
    "IU/mL",
    "U/mL",
    "IU",
    "U",
    "h",
    "min",
    "d",
    "mmHg",
    "°C",
    # instruments, scores, tests, file formats, standards
    "ESSDAI",
    "ESSPRI",
    "CTCAE",
    "ODM",
    "CSV",
    "PDF",
    "IgG",
    "IgA",
    "IgM",
    "eGFR",
    "CRP",
    "ESR",
    "RF",
    "HRCT",
    "DLCO",
    "FVC",
    "NYHA",
    "CK",
    "EDC",
    "SAE",
    "AE",
    "BSA",
    "ACR",
    "EULAR",
    "MCII",
    "SDV",
    "TOTP",
    "HBV",
    "HCV",
    "HIV",
    "ANA",
    "SSA",
    "SSB",
    "Ro",
    "La",
    "Mosteller",
    "Schwartz",
    "ICH",
    "GCP",
    "JSON",
    "XML",
    "ZIP",
    "CDISC",
    "NCT",
    "BELIRIT-pJSS",  # the trial's short title
    "English",  # the language switcher names each language in itself
    "B",
    "T",
    "H",
    "β2",
    "v",
    "vs",
}


def visible_text(html: str) -> str:
    """The page as a reader sees it: no tags, no scripts, no styles, entities decoded."""
    html = re.sub(r"<(script|style|template)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def english_words(text: str, allowed: set[str]) -> list[str]:
    """Latin words that are neither a code (digits or capitals), a unit nor a name."""
    found = []
    for token in TOKEN.findall(text):
        word = token.strip(".-/'")
        if not re.search(r"[A-Za-z]", word) or re.search(r"\d", word):
            continue  # a number, a date or a code with digits (INC1, W12, PUMCH-004)
        if word in allowed or word.isupper() or len(word) == 1:
            continue  # a unit or an instrument, an acronym (PUMCH, ESSDAI), a flag (L/H)
        if all(part in allowed or part.isupper() for part in re.split(r"[/.\-]", word) if part):
            continue
        found.append(word)
    return found


@pytest.fixture
def chinese_reader(client):
    demo.seed_sites_and_users()
    demo.seed_trial_data(today())
    client.force_login(User.objects.get(username="datamanager"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    yield client
    translation.activate(settings.LANGUAGE_CODE)  # the requests left 简体中文 active


def _pages() -> list[str]:
    urls = [
        reverse("dashboard"),
        reverse("enrollment:list"),
        reverse("dosing:deviations"),
        reverse("monitoring:queries"),
    ]
    urls += [
        reverse("participant_detail", args=[subject_id])
        for subject_id in Participant.objects.values_list("subject_id", flat=True)
    ]
    urls += [
        reverse("monitoring:query", args=[pk])
        for pk in DataQuery.objects.values_list("pk", flat=True)
    ]
    return urls


def _names() -> set[str]:
    names = set()
    for row in User.objects.values_list("username", "first_name", "last_name"):
        names.update(part for value in row for part in re.split(r"[\s_]+", value) if part)
    return names


def test_the_demo_trial_reads_in_chinese_with_no_english_sentence(chinese_reader):
    allowed = ALLOWED | _names()
    pages = _pages()
    assert len(pages) > 10 and any("/queries/" in url for url in pages[4:])
    english: dict[str, list[str]] = {}
    for url in pages:
        response = chinese_reader.get(url)
        assert response.status_code == 200, url
        words = english_words(visible_text(response.content.decode()), allowed)
        if words:
            english[url] = sorted(set(words))
    assert not english, "\n".join(f"{url}: {' '.join(words)}" for url, words in english.items())


def test_the_scan_finds_an_english_sentence():
    text = visible_text("<p>IgG 21.00 g/L 高于上限。</p><p>Value outside the range</p>")
    assert english_words(text, ALLOWED) == ["Value", "outside", "the", "range"]
    assert english_words("PUMCH-004 · INC1 · W12 · 5 ×10⁹/L · ESSDAI 12", ALLOWED) == []
