"""Every word of the console exists in Bahasa Indonesia and English, and every key a
template asks for is in the catalogue (a missing one would show as its key)."""

from __future__ import annotations

import re
from pathlib import Path

from api.console import i18n
from indicators.growth_curves import CHARTS
from models.intake import SUBMISSION_STATUSES
from sync.offline import PUSH_FIELDS

TEMPLATES = Path(i18n.__file__).parent / "templates"


def test_every_message_has_both_languages_and_they_differ_where_they_should():
    for key, (indonesian, english) in i18n.MESSAGES.items():
        assert indonesian.strip() and english.strip(), key
    assert i18n.translate("nav.home", "id") == "Beranda"
    assert i18n.translate("nav.home", "en") == "Home"
    assert i18n.language_of(None) == "id" and i18n.language_of("fr") == "id"


def test_every_key_the_templates_and_handlers_use_is_in_the_catalogue():
    used = set()
    for path in [*TEMPLATES.glob("*.html"), *Path(i18n.__file__).parent.glob("*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*\)""", path.read_text()))
        used |= set(re.findall(r"""translate\(\s*["']([\w.]+)["']""", path.read_text()))
    assert len(used) > 80
    # Keys built from values: statuses, sexes, charts, conflict entities.
    used |= {f"status.{s}" for s in (*SUBMISSION_STATUSES, "open", "resolved")}
    used |= {"sex.male", "sex.female", "conf.person", "conf.household"}
    used |= {f"chart.{c}" for c in CHARTS}
    used |= {f"field.{f}" for fields in PUSH_FIELDS.values() for f in fields}
    missing = sorted(used - set(i18n.MESSAGES))
    assert missing == []
