"""Fills the zh_CN catalog from translation tables (flat JSON: English msgid -> 中文), then lists what is
still untranslated. Usage: .venv/bin/python scripts/i18n_fill.py translations/pending/*.json
(run scripts/i18n.sh first so the catalog has every msgid)."""
import json
import sys

from babel.messages.pofile import read_po, write_po

po_path = "translations/zh_CN/LC_MESSAGES/messages.po"
with open(po_path, "rb") as f:
    cat = read_po(f, locale="zh_CN")
table = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        table.update(json.load(handle))
for msg in cat:
    if not msg.id:
        continue
    key = msg.id if isinstance(msg.id, str) else msg.id[0]
    if key in table:
        if isinstance(msg.id, str):
            msg.string = table[key]
        else:
            v = table[key]
            msg.string = (v,) if isinstance(v, str) else tuple(v)
        msg.flags.discard("fuzzy")
missing = [m.id for m in cat if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
with open(po_path, "wb") as f:
    write_po(f, cat, omit_header=False, sort_output=True, width=0, no_location=True)
print("missing:", len(missing))
for m in missing:
    print(json.dumps(m, ensure_ascii=False))
