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


def _msgids(po: Path) -> set[str]:
    if not po.exists():  # no message of that domain (JavaScript) at all
        return set()
    return {msgid for msgid, _strs, _fuzzy in _entries(po.read_text(encoding="utf-8")) if msgid}


def test_every_marked_string_is_in_the_catalogues(tmp_path, settings, monkeypatch):
    """makemessages, run over the sources into a copy of the catalogues, finds nothing new
    and nothing stale: no string marked for translation was left out of them (run
    `make makemessages`, then translate)."""
    import shutil

    from django.core.management import call_command

    # makemessages writes into the `locale` folder above each source file: a tree of links
    # to the sources around a copied `locale` keeps the committed catalogues untouched.
    tree = tmp_path / "tree"
    tree.mkdir()
    for item in ROOT.iterdir():
        if item.is_dir() and item.name not in {"locale", ".venv", ".git", "staticfiles", "media", "node_modules"}:
            (tree / item.name).symlink_to(item)
    shutil.copytree(ROOT / "locale", tree / "locale")
    settings.LOCALE_PATHS = [tree / "locale"]
    monkeypatch.chdir(tree)
    for domain in ("django", "djangojs"):
        # Vendored third-party code (static/vendor: ECharts) is not ours to translate.
        call_command(
            "makemessages",
            locale=["en"],
            domain=domain,
            symlinks=True,
            no_obsolete=True,
            ignore_patterns=["static/vendor/*"],
            verbosity=0,
        )
        committed = ROOT / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"
        extracted = tree / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"
        assert sorted(_msgids(extracted) - _msgids(committed)) == []
        assert sorted(_msgids(committed) - _msgids(extracted)) == []


def test_the_same_english_word_reads_right_in_each_place():
    """Words shared by several records carry a context where Chinese needs different ones."""
    from django.utils import translation

    from merchants.choices import DepositEntryKind
    from orders.choices import OrderStatus
    from settlements.choices import PayoutStatus, StatementStatus

    with translation.override("zh-hans"):
        labels = [
            str(OrderStatus.PAID.label),
            str(DepositEntryKind.PAID.label),
            str(StatementStatus.PAID.label),
            str(PayoutStatus.PAID.label),
            str(StatementStatus.APPROVED.label),
        ]
    assert labels == ["已付款", "已缴纳", "已打款", "已打款", "已审核"]
