#!/usr/bin/env bash
# Consumer test: uses @linux-ipc/core and @linux-ipc/testing as a brand-new user would, outside the
# workspace. Packs both packages with pnpm (which rewrites `workspace:` ranges), installs the two
# tarballs with plain npm into a fresh temporary project, and on the `node` first on PATH checks:
# the tarballs' file lists, the root entries' exported names, an ESM and a CommonJS System V segment round trip with a second
# process, a strict typecheck against the installed .d.ts, a 10,000-message two-process ring
# exchange, and that internal paths cannot be imported. One `ok - …` / `not ok - …` line per
# check; exits non-zero on any failure, and if System V IPC objects or /dev/shm differ afterwards.
#
#   usage: .ci/consumer/run.sh <repo root>     (VERBOSE=1 shows the output of passing checks too)
set -euo pipefail

repo="$(cd "${1:?usage: run.sh <repo root>}" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
export pnpm_spec="pnpm@10.34.9"
started=$SECONDS

work="$(mktemp -d "${TMPDIR:-/tmp}/linux-ipc-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT
project="$work/project"
mkdir -p "$project" "$work/logs"

failures=0
count=0

# check NAME SECONDS COMMAND…: runs COMMAND (in the current directory) with a time limit and prints
# one ok/not ok line; the command's output follows as `#` lines when it fails (or with VERBOSE).
check() {
  local name="$1" limit="$2" rc=0
  shift 2
  local log="$work/logs/$((count += 1))"
  if declare -F "$1" >/dev/null; then set -- bash -c 'set -euo pipefail; "$@"' "$1" "$@"; fi # a function below
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
  if ((rc == 0)); then
    echo "ok - $name"
    if [[ -n "${VERBOSE:-}" ]]; then sed 's/^/#   /' "$log"; fi
  else
    failures=$((failures + 1))
    echo "not ok - $name"
    if ((rc == 124 || rc == 137)); then echo "#   timed out after ${limit} s waiting for: $name"; else echo "#   exit status $rc"; fi
    sed 's/^/#   /' "$log"
  fi
  return 0
}

# What the checks must leave as they found it: System V objects (by key, id, owner) and /dev/shm.
ipc_state() {
  local kind
  for kind in m s q; do ipcs "-$kind" | awk -v kind="$kind" '/^0x/ { print kind, $1, $2, $3 }' | sort; done
  echo "-- /dev/shm"
  ls -A /dev/shm | sort
}
before="$(ipc_state)"

echo "# node $(node --version) ($(command -v node)), npm $(npm --version), repo $repo"

# --- pack ---------------------------------------------------------------------------------------
declare -A tarball
pack() {
  local dir="$1" dest="$2"
  (cd "$dir" && npx --yes "$pnpm_spec" pack --pack-destination "$dest")
}
export -f pack
for pkg in core testing; do
  dest="$work/tarballs/$pkg"
  mkdir -p "$dest"
  check "pnpm pack @linux-ipc/$pkg" 300 pack "$repo/packages/$pkg" "$dest"
  tarball[$pkg]="$(find "$dest" -maxdepth 1 -name '*.tgz' -print -quit)"
done
if [[ -z "${tarball[core]}" || -z "${tarball[testing]}" ]]; then
  echo "not ok - packing gave no tarball; nothing else can be checked"
  exit 1
fi

# --- tarball contents -----------------------------------------------------------------------------
# Only compiled output and the package's documents: dist/ *.js, *.js.map, *.d.ts, *.d.ts.map, and
# package.json, README.md, LICENSE, CHANGELOG.md. No tests, fixtures or .ts sources; no workspace: ranges.
tarball_clean() {
  local tgz="$1" files unexpected
  files="$(tar -tzf "$tgz")"
  echo "$files" | sed 's/^/  /'
  unexpected="$(echo "$files" | grep -Ev '^package/(package\.json|README\.md|LICENSE(\.md)?|CHANGELOG\.md|dist/.+\.(js|js\.map|d\.ts|d\.ts\.map))$' || true)"
  unexpected+="$(echo "$files" | grep -E '\.test\.|(^|/)fixtures[^/]*/|\.spec\.' || true)"
  if [[ -n "$unexpected" ]]; then echo "unexpected files in $(basename "$tgz"):"; echo "$unexpected" | sort -u; return 1; fi
  echo "$files" | grep -q '^package/dist/index\.js$' || { echo "no dist/index.js"; return 1; }
  echo "$files" | grep -q '^package/dist/index\.d\.ts$' || { echo "no dist/index.d.ts"; return 1; }
  if tar -xzOf "$tgz" package/package.json | grep -n 'workspace:'; then echo "package.json still has workspace: ranges"; return 1; fi
}
export -f tarball_clean
for pkg in core testing; do
  check "tarball of @linux-ipc/$pkg holds only dist output and package documents" 30 tarball_clean "${tarball[$pkg]}"
done

# --- a brand-new project ----------------------------------------------------------------------
cp -r "$here"/*.mjs "$here"/*.cjs "$here"/typed.ts "$here"/tsconfig.json "$here"/expected-exports "$project"/
cat >"$project/package.json" <<'EOF'
{ "name": "linux-ipc-consumer-check", "version": "0.0.0", "private": true, "type": "module" }
EOF
cd "$project"
check "npm install of the two tarballs" 600 npm install --no-audit --no-fund --loglevel=error \
  "${tarball[core]}" "${tarball[testing]}" typescript@5.9.3 "@types/node@^20.19.9"
if [[ ! -d node_modules/@linux-ipc/core || ! -d node_modules/@linux-ipc/testing ]]; then
  echo "not ok - the packages are not installed; nothing else can be checked"
  exit 1
fi
no_dev_tools() {
  local found
  found="$(find node_modules -type d \( -path '*/node_modules/tsx' -o -path '*/node_modules/vitest' \) || true)"
  if [[ -n "$found" ]]; then echo "installed although the root entries should need neither:"; echo "$found"; return 1; fi
}
export -f no_dev_tools
check "neither tsx nor vitest installed with the packages" 30 no_dev_tools

# --- the checks proper --------------------------------------------------------------------------
check "root entries export the expected names, to import and require alike" 60 node exports.mjs
check "esm segment round trip" 120 node esm-segment.mjs
check "cjs segment round trip (require)" 120 node cjs-segment.cjs
check "typecheck against the installed .d.ts (nodenext, strict, skipLibCheck false)" 300 \
  node node_modules/typescript/bin/tsc -p tsconfig.json
check "ring exchange of 10000 messages between two processes" 180 node ring-producer.mjs
check "internal paths not importable" 60 node internal-paths.mjs

# --- nothing left behind ------------------------------------------------------------------------
cd /
after="$(ipc_state)"
count=$((count + 1))
if [[ "$before" == "$after" ]]; then
  echo "ok - no System V IPC object or /dev/shm entry left behind"
else
  failures=$((failures + 1))
  echo "not ok - no System V IPC object or /dev/shm entry left behind"
  diff <(echo "$before") <(echo "$after") | sed 's/^/#   /' || true
fi

echo "# $count checks run, $failures failed, $((SECONDS - started)) s"
((failures == 0))
