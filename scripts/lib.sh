# Shared settings for the shell scripts in scripts/ (sourced, not run).
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export FLASK_APP="wsgi:app"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The URL of one of our databases: DATABASE_URL's server when set, else the embedded cluster's.
db_url() {
  local name="${1:-shopnear}"
  if [ -n "${DATABASE_URL:-}" ]; then
    if [ "$name" = shopnear ]; then echo "$DATABASE_URL"; else echo "${DATABASE_URL%/*}/$name"; fi
  else
    "$ROOT/scripts/db" url "$name"
  fi
}
