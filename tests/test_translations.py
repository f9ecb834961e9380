"""Every page and e-mail exists in French: the French catalogue must be complete and sound."""

from pathlib import Path

from babel.messages.pofile import read_po

import halles

LOCALE = Path(halles.__file__).parent / "locale"


def read(language):
    with open(LOCALE / language / "LC_MESSAGES" / "django.po", "rb") as handle:
        return read_po(handle, abort_invalid=True)


def test_the_french_catalogue_translates_every_message():
    catalogue = read("fr")
    missing = [
        message.id
        for message in catalogue
        if message.id
        and (
            "fuzzy" in message.flags
            or not (all(message.string) if isinstance(message.string, tuple) else message.string)
        )
    ]
    assert missing == []
    assert len(catalogue) > 250


def test_placeholders_survive_translation():
    for message in read("fr"):
        if not message.id or not message.python_format:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        names = {part.split(")")[0] for part in ids[0].split("%(")[1:]}
        for string in strings:
            assert {part.split(")")[0] for part in string.split("%(")[1:]} <= names, message.id


def test_pages_are_served_in_french_and_in_english(client, marketplace):
    french = client.get("/login/").content.decode()
    assert "Se connecter" in french and "Mot de passe oublié" in french
    client.cookies["django_language"] = "en"
    english = client.get("/login/").content.decode()
    assert "Log in" in english and "Forgot your password?" in english
