#!/usr/bin/env bash
# Checks a deskferry bundle with stock tools only, the way an auditor without deskferry would:
#
#   tests/interop/check_bundle.sh NAME.dfb identity.txt sign.pub OUT_DIR
#
# minisign (signature), age + tar (decrypt, unpack into OUT_DIR), sha256sum -c (payload and tag
# manifests), the content id (SHA-256 of tagmanifest-sha256.txt) against the envelope, then
# check_bag.py: bagit-python validation, pyarrow and DuckDB reading every table with its types.
# Python: $DESKFERRY_PYTHON, else <workspace>/.venv/bin/python (created by tests/run).
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 NAME.dfb identity.txt sign.pub OUT_DIR" >&2
  exit 2
fi
bundle=$1 identity=$2 signpub=$3 out=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${DESKFERRY_PYTHON:-$here/../../.venv/bin/python}
if [ ! -x "$python" ]; then
  echo "python venv missing: run tests/run" >&2
  exit 2
fi

pk=$(grep -v '^untrusted comment:' "$signpub" | head -n1)
echo "== minisign -Vm $bundle -P $pk"
minisign -Vm "$bundle" -P "$pk"

# minisign covers NAME.dfb only; the envelope is bound through envelope_sha256 in the signed
# trusted comment (the README's one-line check, verbatim).
echo "== envelope against the signed comment"
minisign -Vm "$bundle" -p "$signpub" -Q | grep -q "\"envelope_sha256\":\"$(sha256sum < "$bundle.json" | cut -d' ' -f1)\"" && echo "envelope OK"

mkdir -p "$out"
echo "== age -d -i identity | tar x (owner-only, no owners or modes from the archive)"
(umask 077 && age -d -i "$identity" "$bundle" | tar -x --no-same-owner --no-same-permissions -C "$out" -f -)
bag=$(find "$out" -mindepth 1 -maxdepth 1 -type d | head -n1)
[ -f "$bag/bagit.txt" ] || { echo "no bag under $out" >&2; exit 1; }

echo "== sha256sum -c manifest-sha256.txt / tagmanifest-sha256.txt"
(cd "$bag" && sha256sum --strict --quiet -c manifest-sha256.txt && sha256sum --strict --quiet -c tagmanifest-sha256.txt)
echo "   $(wc -l < "$bag/manifest-sha256.txt") payload files OK"

echo "== content id"
cid=$(sha256sum "$bag/tagmanifest-sha256.txt" | cut -d' ' -f1)
want=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["content_id"])' "$bundle.json")
[ "$cid" = "$want" ] || { echo "content id $cid != envelope $want" >&2; exit 1; }
minisign -Vm "$bundle" -p "$signpub" -Q | grep -q "\"content_id\":\"$cid\"" || { echo "content id $cid is not the signed one" >&2; exit 1; }
echo "   $cid (signed)"
# Nothing unpacked is readable by others (modes and owners came from umask, not the archive).
if [ -n "$(find "$bag" -perm /077 -print -quit)" ]; then
  echo "unpacked files readable by others: $(find "$bag" -perm /077 | head -n3)" >&2; exit 1
fi

echo "== bagit-python, pyarrow, DuckDB"
"$python" "$here/check_bag.py" "$bag"
echo "ALL STOCK-TOOL CHECKS PASSED"
