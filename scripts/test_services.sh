#!/usr/bin/env bash
# Sourced by scripts/test.sh: what the tests need beyond the venv.
#
#  - Debian's chromium (browser tests of the web pages, driven by Playwright) and postgresql
#    (the PostgreSQL path of the database, ledger, registry and API tests), installed with
#    apt-get when they are missing and this shell may install packages (root);
#  - a throwaway PostgreSQL server on a free loopback port, in a temporary folder, stopped
#    and removed when the tests end (unless CAMEOGUARD_TEST_POSTGRES_URL is already set).
#
# What cannot be had is said once, loudly; the tests that need it then skip with the reason.
# CAMEOGUARD_TEST_SERVICES=0 skips all of this (the tests that need the services skip).

cg_note() { echo "==> $*" >&2; }

cg_pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

cg_install_system_packages() {
    local missing=()
    [[ -x /usr/bin/chromium ]] || missing+=(chromium)
    cg_pg_bindir >/dev/null || missing+=(postgresql)
    ((${#missing[@]})) || return 0
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        cg_note "not installed: ${missing[*]} (needs root and apt-get); their tests will skip"
        return 0
    fi
    cg_note "installing Debian packages: ${missing[*]}"
    local log
    log="$(mktemp)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        "${missing[@]}" >"$log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            "${missing[@]}" >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            cg_note "could not install ${missing[*]}; their tests will skip"
        fi
    fi
    rm -f "$log"
}

cg_start_postgres() {
    if [[ -n "${CAMEOGUARD_TEST_POSTGRES_URL:-}" ]]; then
        cg_note "PostgreSQL tests use CAMEOGUARD_TEST_POSTGRES_URL from the environment"
        return 0
    fi
    local bindir port run=()
    bindir="$(cg_pg_bindir)" || return 0
    CG_PG_DIR="$(mktemp -d /tmp/cameoguard-pg.XXXXXX)"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    if [[ "$(id -u)" == 0 ]]; then  # initdb refuses to run as root
        local user=postgres
        id -u "$user" >/dev/null 2>&1 || user=nobody
        chown "$user" "$CG_PG_DIR"
        run=(runuser -u "$user" --)
    fi
    if ! "${run[@]}" "$bindir/initdb" -D "$CG_PG_DIR/data" -U postgres --auth=trust \
        >"$CG_PG_DIR/initdb.log" 2>&1; then
        tail -n 20 "$CG_PG_DIR/initdb.log" >&2
        cg_note "initdb failed; the PostgreSQL tests will skip"
        return 0
    fi
    if ! "${run[@]}" "$bindir/pg_ctl" -D "$CG_PG_DIR/data" -w -t 60 -l "$CG_PG_DIR/server.log" \
        -o "-p $port -k $CG_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
        tail -n 20 "$CG_PG_DIR/server.log" >&2
        cg_note "PostgreSQL did not start; the PostgreSQL tests will skip"
        return 0
    fi
    CG_PG_STOP=("${run[@]}" "$bindir/pg_ctl" -D "$CG_PG_DIR/data" -m fast stop)
    export CAMEOGUARD_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    cg_note "PostgreSQL for the tests on 127.0.0.1:$port"
}

cg_stop_services() {
    if [[ -n "${CG_PG_STOP:-}" ]]; then
        "${CG_PG_STOP[@]}" >/dev/null 2>&1 || true
    fi
    [[ -n "${CG_PG_DIR:-}" ]] && rm -rf "$CG_PG_DIR"
    return 0
}

if [[ "${CAMEOGUARD_TEST_SERVICES:-1}" != 0 ]]; then
    cg_install_system_packages
    trap cg_stop_services EXIT
    cg_start_postgres
    [[ -x /usr/bin/chromium ]] && export CAMEOGUARD_TEST_CHROMIUM="${CAMEOGUARD_TEST_CHROMIUM:-/usr/bin/chromium}"
fi
