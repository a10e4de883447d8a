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
    # Swap the database name, keeping any ?host=…&port=… query (unix sockets).
    local base="${DATABASE_URL%%\?*}" query="${DATABASE_URL#"${DATABASE_URL%%\?*}"}"
    if [ "$name" = shopnear ]; then echo "$DATABASE_URL"; else echo "${base%/*}/$name$query"; fi
  else
    "$ROOT/scripts/db" url "$name"
  fi
}
