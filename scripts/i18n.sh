#!/usr/bin/env bash
# Re-extracts every translatable string (English msgids) and merges it into the catalogs, keeping
# existing translations. Then fill the empty msgstr in translations/zh_CN (tests fail on a missing one),
# by hand or from the tables in translations/pending/ with scripts/i18n_fill.py.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin
"$py/pybabel" -q extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output --omit-header \
  -o translations/messages.pot . >/dev/null
for locale in zh_CN en; do
  po="translations/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    "$py/pybabel" -q update -i translations/messages.pot -d translations -l "$locale" --no-fuzzy-matching --omit-header --ignore-obsolete >/dev/null
  else
    "$py/pybabel" -q init -i translations/messages.pot -d translations -l "$locale" >/dev/null
  fi
done
echo "catalogs updated"
