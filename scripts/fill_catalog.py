"""Fill msgstr entries of a .po file from a {msgid: translation} module (translator's helper).

Usage: python scripts/fill_catalog.py helpdesk/translations/ko/LC_MESSAGES/messages.po ko.py
Entries already translated are kept; the catalog is written back sorted by msgid.
"""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po, write_po


def main(po_path: str, table_path: str) -> int:
    table = runpy.run_path(table_path)
    translations = next(v for k, v in table.items() if k.isupper() and isinstance(v, dict))
    with open(po_path, "rb") as handle:
        catalog = read_po(handle)
    missing = []
    for message in catalog:
        translated = all(message.string) if isinstance(message.id, tuple) else message.string
        if not message.id or translated:
            continue
        if message.id in translations:
            message.string = translations[message.id]
        else:
            missing.append(message.id)
    with open(po_path, "wb") as handle:
        write_po(handle, catalog, sort_output=True, omit_header=False)
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
