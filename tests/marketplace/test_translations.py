"""zh-hans and en ship complete: every message has a translation, none is fuzzy."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po"))


def _entries(po_text):
    """(msgid, msgstr, fuzzy) for each entry; plural entries yield every msgstr[n]."""
    entries, block = [], []
    for line in [*po_text.splitlines(), ""]:
        if line.strip():
            block.append(line)
            continue
        if block:
            entries.append(block)
            block = []
    result = []
    for block in entries:
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in block)
        current, fields = None, {}
        for line in block:
            if line.startswith("#"):
                continue
            if line.startswith('"') and current:
                fields[current] += line[1:-1]
            else:
                key, _, value = line.partition(" ")
                current = key
                fields[current] = value[1:-1]
        if "msgid" in fields:
            strs = [v for k, v in fields.items() if k.startswith("msgstr")]
            result.append((fields["msgid"], strs, fuzzy))
    return result


def test_both_languages_have_catalogues():
    langs = {p.parts[-3] for p in CATALOGUES}
    assert {"zh_Hans", "en"} <= langs


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: "/".join(p.parts[-3:]))
def test_every_message_is_translated(po):
    missing = [
        msgid for msgid, strs, fuzzy in _entries(po.read_text(encoding="utf-8")) if msgid and (fuzzy or not all(strs))
    ]
    assert missing == []
