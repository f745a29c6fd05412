#!/usr/bin/env bash
# Service Model developer entry point: `sm.sh run` and `sm.sh test`.
#
# Everything it needs beyond Python 3.10-3.12, Debian's packages and the Odoo
# source tree at ODOO_SRC it installs itself: PostgreSQL (when missing), a role,
# a pinned virtualenv, a generated addons folder and an Odoo config file.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo-18.0}"
# Generated addons folder, Odoo config and filestore live outside the checkout
# (one folder per checkout), so the checkout's folder name never matters.
BUILD="${SM_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/service-model/$(basename "$REPO")-$(printf '%s' "$REPO" | sha256sum | cut -c1-8)}"
VENV="${SM_VENV:-$REPO/.venv}"
ADDONS_DIR="$BUILD/addons"
DB="${SM_DB:-service_model}"
TEST_DB="${SM_TEST_DB:-service_model_test}"
HTTP_PORT="${SM_HTTP_PORT:-8069}"
TEST_HTTP_PORT="${SM_TEST_HTTP_PORT:-}"  # empty: a free port is picked for each run
PGHOST="${SM_PG_HOST:-localhost}"
PGPORT="${SM_PG_PORT:-5432}"
PGUSER="${SM_PG_USER:-service_model}"
PGPASSWORD="${SM_PG_PASSWORD:-service_model}"
export PGHOST PGPORT PGUSER PGPASSWORD

OUR_ADDONS=(service_model service_model_comms service_model_contractor_portal service_model_suite)
OUR_ADDONS_CSV="$(IFS=,; echo "${OUR_ADDONS[*]}")"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

# Runs as the postgres superuser over the local socket (peer authentication).
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env -u PGHOST -u PGUSER -u PGPASSWORD "$@"
    else
        sudo -u postgres env -u PGHOST -u PGUSER -u PGPASSWORD "$@"
    fi
}

# -- preflight: nothing may be changed before these pass ----------------------

check_odoo_src() {
    if [ ! -f "$ODOO_SRC/odoo-bin" ] || [ ! -f "$ODOO_SRC/odoo/release.py" ] \
        || ! grep -q "^version_info = (18, 0" "$ODOO_SRC/odoo/release.py"; then
        die "ODOO_SRC=$ODOO_SRC must hold the Odoo 18.0 Community source (odoo-bin, odoo/, addons/); put a copy there (git clone -b 18.0 --depth 1 https://github.com/odoo/odoo $ODOO_SRC) or export ODOO_SRC=/path/to/odoo-18.0"
    fi
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.10 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null \
            && "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "Python 3.10, 3.11 or 3.12 is required (set PYTHON=/path/to/python3.11)"
}

preflight() {
    check_odoo_src
    PYTHON_BIN="$(find_python)"
}

# -- PostgreSQL ------------------------------------------------------------------

pg_ready() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }

ensure_postgres() {
    if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
        say "PostgreSQL is not installed: installing Debian's postgresql package"
        as_root apt-get update -qq || die "cannot run apt-get: install PostgreSQL (Debian package postgresql) and run this again"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
            || die "installing PostgreSQL failed: install the Debian package postgresql and run this again"
    fi
    if ! pg_ready; then
        say "starting PostgreSQL"
        if command -v pg_lsclusters >/dev/null; then
            local line version name
            line="$(pg_lsclusters --no-header 2>/dev/null | head -n1 || true)"
            if [ -z "$line" ]; then
                version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
                as_root pg_createcluster "$version" main >/dev/null
                name=main
            else
                version="$(awk '{print $1}' <<<"$line")"
                name="$(awk '{print $2}' <<<"$line")"
            fi
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start \
                || die "PostgreSQL $version/$name did not start: see /var/log/postgresql/"
        else
            die "PostgreSQL does not answer on $PGHOST:$PGPORT and there is no pg_ctlcluster to start it"
        fi
        local i
        for i in $(seq 1 30); do pg_ready && break; sleep 1; done
        pg_ready || die "PostgreSQL does not answer on $PGHOST:$PGPORT"
    fi
    # The role: login with a password over TCP, allowed to create databases.
    if ! psql -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
        say "creating PostgreSQL role $PGUSER"
        as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres \
            -c "CREATE ROLE \"$PGUSER\" LOGIN CREATEDB PASSWORD '$PGPASSWORD'" \
            || die "cannot create the PostgreSQL role $PGUSER: create it (LOGIN CREATEDB, password $PGPASSWORD) and run this again"
    fi
}

# -- Chromium (browser tours) -------------------------------------------------------

# Odoo's HttpCase looks for google-chrome, chromium, chromium-browser and
# google-chrome-stable on PATH, and silently skips the tours when it finds none.
find_browser() {
    local name
    for name in google-chrome chromium chromium-browser google-chrome-stable; do
        command -v "$name" >/dev/null && { command -v "$name"; return; }
    done
    return 1
}

ensure_chromium() {
    find_browser >/dev/null && return
    say "Chromium is not installed (the browser tours need it): installing Debian's chromium package"
    as_root apt-get update -qq \
        || die "cannot run apt-get: install Chromium (Debian package chromium) and run this again"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
        || die "installing Chromium failed: install the Debian package chromium and run this again"
    find_browser >/dev/null \
        || die "the chromium package is installed but no chromium executable is on PATH ($PATH): add /usr/bin to PATH"
}

# -- virtualenv ------------------------------------------------------------------

ensure_venv() {
    local stamp="$VENV/.service_model_requirements"
    local wanted
    wanted="$("$PYTHON_BIN" --version) $(cat "$REPO/requirements.txt" "$REPO/requirements-dev.txt" "$REPO/constraints.txt" | sha256sum | cut -c1-16)"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return
    fi
    say "building the virtualenv in $VENV (pinned versions, wheels only)"
    if ! [ -x "$VENV/bin/python" ]; then
        if ! "$PYTHON_BIN" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            local pyver
            pyver="$("$PYTHON_BIN" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
            say "installing python$pyver-venv"
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$pyver-venv" >/dev/null \
                || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
                || die "cannot create a virtualenv: install python3-venv and run this again"
            "$PYTHON_BIN" -m venv "$VENV"
        fi
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip wheel "setuptools<81"
    "$VENV/bin/python" -m pip install -q --only-binary=:all: -r "$REPO/requirements-dev.txt" \
        || "$VENV/bin/python" -m pip install -q -r "$REPO/requirements-dev.txt"
    printf '%s' "$wanted" >"$stamp"
}

# -- generated addons folder and config --------------------------------------------

ensure_addons() {
    mkdir -p "$ADDONS_DIR" "$BUILD/data"
    # The umbrella addon is the checkout itself, whatever its folder is called.
    ln -sfn "$REPO" "$ADDONS_DIR/service_model_suite"
    local addon
    for addon in service_model service_model_comms service_model_contractor_portal; do
        ln -sfn "$REPO/$addon" "$ADDONS_DIR/$addon"
    done
    cat >"$BUILD/odoo.conf" <<EOF
[options]
addons_path = $ADDONS_DIR,$ODOO_SRC/addons
data_dir = $BUILD/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = $PGPASSWORD
http_port = $HTTP_PORT
list_db = False
EOF
}

odoo() { "$VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$BUILD/odoo.conf" "$@"; }

db_exists() { psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1; }

suite_state() {
    psql -d "$1" -tAc "SELECT state FROM ir_module_module WHERE name = 'service_model_suite'" 2>/dev/null || true
}

sources_hash() {
    (cd "$REPO" && find "${OUR_ADDONS[@]:0:3}" __manifest__.py __init__.py data tests -type f \
        -not -path '*/__pycache__/*' -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

setup_all() {
    preflight
    ensure_postgres
    ensure_venv
    ensure_addons
    if [ -z "$TEST_HTTP_PORT" ]; then
        TEST_HTTP_PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    fi
}

# -- commands --------------------------------------------------------------------

cmd_run() {
    setup_all
    local stamp="$BUILD/$DB.sources"
    if [ "$(suite_state "$DB")" != "installed" ]; then
        if db_exists "$DB"; then
            say "database $DB has no installed suite: recreating it"
            dropdb --if-exists "$DB"
        fi
        say "creating database $DB with the suite and its demo data (takes a few minutes once)"
        odoo -d "$DB" -i service_model_suite --stop-after-init --log-level=warn
        sources_hash >"$stamp"
    elif [ "$(cat "$stamp" 2>/dev/null)" != "$(sources_hash)" ]; then
        say "the addons changed since the last run: updating them in $DB"
        odoo -d "$DB" -u "$OUR_ADDONS_CSV" --stop-after-init --log-level=warn
        sources_hash >"$stamp"
    fi
    cat >&2 <<EOF
==> Service Model is starting on http://localhost:$HTTP_PORT
    Log in as admin / admin (database $DB). Stop with Ctrl-C.
EOF
    exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" -c "$BUILD/odoo.conf" -d "$DB" --db-filter="^$DB\$" "$@"
}

cmd_lint() {
    say "ruff"
    (cd "$REPO" && "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check .)
    say "pylint-odoo (mandatory checks)"
    # the umbrella is the checkout itself: lint its own files, not the three addons again
    (cd "$REPO" && "$VENV/bin/pylint" --rcfile=.pylintrc-mandatory \
        --ignore-paths='.*/service_model_suite/service_model[^/]*/.*' \
        service_model service_model_comms service_model_contractor_portal "$ADDONS_DIR/service_model_suite")
}

build_test_db() {
    say "creating the test database $TEST_DB (no demo data) and running the at-install tests"
    dropdb --if-exists "$TEST_DB"
    rm -rf "$BUILD/data/filestore/$TEST_DB"
    local tags
    tags="$(printf 'at_install/%s,' "${OUR_ADDONS[@]}")"
    odoo -d "$TEST_DB" -i service_model_suite --without-demo=all --stop-after-init \
        --http-port="$TEST_HTTP_PORT" --test-tags="${tags%,}" --log-level=warn \
        --log-handler=odoo.tests.result:INFO --log-handler=odoo.tests.stats:INFO
    sources_hash >"$BUILD/$TEST_DB.sources"
}

run_pytest() {
    local paths=() args=() arg addon
    for arg in "$@"; do
        # A path given from the checkout (service_model/tests/test_x.py) is
        # collected through the generated addons folder.
        if [ -e "$REPO/$arg" ] || [ -e "$REPO/${arg%%::*}" ]; then
            case "$arg" in
                service_model/* | service_model_comms/* | service_model_contractor_portal/*) paths+=("$arg") ;;
                *) paths+=("service_model_suite/$arg") ;;
            esac
        else
            args+=("$arg")
        fi
    done
    if [ ${#paths[@]} = 0 ]; then
        for addon in "${OUR_ADDONS[@]}"; do
            [ -d "$ADDONS_DIR/$addon/tests" ] && paths+=("$addon/tests")
        done
    fi
    say "pytest: the post-install tests of the four addons"
    cd "$ADDONS_DIR"
    PYTHONPATH="$REPO/scripts:$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/pytest" \
        -c "$REPO/pytest.ini" --rootdir="$ADDONS_DIR" -p sm_pytest_plugin \
        --odoo-config="$BUILD/odoo.conf" --odoo-database="$TEST_DB" \
        --odoo-extra="http-port=$TEST_HTTP_PORT" "${paths[@]}" "${args[@]}"
}

# The workflow without comms, portal or suite: a second database with
# service_model alone, its at-install tests during the install, then pytest of
# service_model/tests against it. Proves the core needs none of the others.
test_core_alone() {
    local db="${TEST_DB}_core" status=0
    say "creating $db with service_model alone and running its at-install tests"
    dropdb --if-exists "$db"
    rm -rf "$BUILD/data/filestore/$db"
    odoo -d "$db" -i service_model --without-demo=all --stop-after-init \
        --http-port="$TEST_HTTP_PORT" --test-tags=at_install/service_model --log-level=warn \
        --log-handler=odoo.tests.result:INFO --log-handler=odoo.tests.stats:INFO || status=$?
    say "pytest: service_model's tests with comms, portal and suite not installed"
    (TEST_DB="$db"; run_pytest service_model/tests) || status=$?
    return "$status"
}

# The whole gate: lint, a fresh test database, every test, then the core alone.
cmd_test() {
    setup_all
    ensure_chromium
    cmd_lint
    build_test_db
    local status=0
    run_pytest "$@" || status=$?
    test_core_alone || status=$?
    return "$status"
}

# The quick loop for one test: reuses the test database, updating the addons
# when their sources changed. `scripts/sm.sh pytest service_model/tests/test_x.py -k name`
cmd_pytest() {
    setup_all
    ensure_chromium
    if [ "$(suite_state "$TEST_DB")" != "installed" ]; then
        build_test_db
    elif [ "$(cat "$BUILD/$TEST_DB.sources" 2>/dev/null)" != "$(sources_hash)" ]; then
        say "updating the addons in $TEST_DB"
        odoo -d "$TEST_DB" -u "$OUR_ADDONS_CSV" --stop-after-init --log-level=warn
        sources_hash >"$BUILD/$TEST_DB.sources"
    fi
    run_pytest "$@"
}

main() {
    local command="${1:-}"
    shift || true
    case "$command" in
        run) cmd_run "$@" ;;
        test) cmd_test "$@" ;;
        pytest) cmd_pytest "$@" ;;
        test-core) setup_all; test_core_alone ;;
        lint) preflight; ensure_venv; ensure_addons; cmd_lint ;;
        setup) setup_all ;;
        check-odoo) check_odoo_src ;;
        bench) setup_all; name="${1:?usage: scripts/sm.sh bench NAME (benchmarks/bench_NAME.py)}"; shift; cd "$REPO"; PYTHONPATH="$ODOO_SRC" ODOO_SRC="$ODOO_SRC" exec "$VENV/bin/python" "benchmarks/bench_$name.py" --odoo-config "$BUILD/odoo.conf" "$@" ;;
        *) die "usage: scripts/sm.sh run|test|pytest|test-core|lint|setup" ;;
    esac
}

main "$@"
