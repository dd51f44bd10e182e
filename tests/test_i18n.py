"""Every screen in Korean and English: the catalogs are complete and in use."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "helpdesk" / "translations"


def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def template_ids() -> set[str]:
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_korean_catalog_translates_every_string():
    korean = catalog("ko")
    # a plural entry is a tuple of forms, each of which must be filled in
    missing = [m.id for m in korean if m.id and not (all(m.string) if m.pluralizable else m.string)]
    assert missing == []
    assert [m.id for m in korean if m.id and m.fuzzy] == []  # guessed by pybabel update, unchecked
    assert template_ids() <= {m.id for m in korean if m.id}


def test_english_catalog_covers_the_template():
    assert template_ids() <= {m.id for m in catalog("en") if m.id}


def test_template_is_up_to_date_with_the_code(tmp_path):
    """Fails when a new UI string was added without `pybabel extract` (see README)."""
    from babel.messages.frontend import CommandLineInterface

    fresh = tmp_path / "fresh.pot"
    root = TRANSLATIONS.parent.parent
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(root / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--sort-output",
            "-o",
            str(fresh),
            str(root / "helpdesk"),
        ]
    )
    with open(fresh, "rb") as handle:
        current = {m.id for m in read_po(handle) if m.id}
    assert current == template_ids()


def test_screens_switch_language(client):
    assert "로그인" in client.get("/login?lang=ko").get_data(as_text=True)
    assert "Sign in" in client.get("/login?lang=en").get_data(as_text=True)
