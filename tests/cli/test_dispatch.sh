#!/bin/sh
# test_dispatch.sh - shell tests of the built binaries: the `xl` dispatcher (build/xl)
# forwards everything but `checkpoint` to the real xl untouched (a fake real xl that
# echoes its arguments stands in), sends `xl checkpoint ...` to build/xl-checkpoint,
# never runs itself; and xl-checkpoint's help, usage errors (exit 2, one line) and
# catalog errors. Prints TAP and "N passed, M failed"; exits non-zero on any failure.
#
#   sh tests/cli/test_dispatch.sh [BUILD_DIR]      (default: build)
set -u

B=$(cd "${1:-build}" && pwd) || exit 1
XL=$B/xl
XLCP=$B/xl-checkpoint
for f in "$XL" "$XLCP"; do
    [ -x "$f" ] || {
        echo "Bail out! $f not built (run make)"
        exit 1
    }
done

T=$(mktemp -d /tmp/xlcp-dispatch-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
unset XLCP_REAL_XL XLCP_CATALOG_ROOT XLCP_DEBUG

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"

# run CMD...: stdout in $T/out, stderr in $T/err, status in $rc (10 s limit).
run() {
    timeout 10 "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

# A fake real xl: prints one line per argument, in brackets.
cat >"$T/realxl" <<'XL'
#!/bin/sh
echo "real-xl called"
for a in "$@"; do printf '[%s]\n' "$a"; done
XL
chmod +x "$T/realxl"
printf 'real-xl called\n[list]\n[-l]\n' >"$T/want-list"
printf 'real-xl called\n[-v]\n[create]\n[/etc/xen/a b.cfg]\n[--]\n[checkpoint]\n' \
    >"$T/want-create"

one_line_err() {
    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^xl-checkpoint: $1" "$T/err"
}

# ---- dispatcher ----------------------------------------------------------------------

export XLCP_REAL_XL="$T/realxl"
run "$XL" list -l
if [ $rc -eq 0 ] && cmp -s "$T/out" "$T/want-list"; then
    ok "xl list -l is forwarded untouched"
else
    not_ok "xl list -l is forwarded untouched" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

run "$XL" -v create "/etc/xen/a b.cfg" -- checkpoint
if [ $rc -eq 0 ] && cmp -s "$T/out" "$T/want-create"; then
    ok "arguments with spaces and a later 'checkpoint' word reach the real xl as they are"
else
    not_ok "arguments reach the real xl as they are" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

run "$XL" checkpoint --help
if [ $rc -eq 0 ] && grep -q "Subcommands" "$T/out" && grep -q "restore" "$T/out" &&
    ! grep -q "real-xl" "$T/out"; then
    ok "xl checkpoint --help reaches xl-checkpoint"
else
    not_ok "xl checkpoint --help reaches xl-checkpoint" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

run "$XL" -v checkpoint version
if [ $rc -eq 0 ] && grep -q "^xl-checkpoint " "$T/out"; then
    ok "xl -v checkpoint version: xl's -v is accepted"
else
    not_ok "xl -v checkpoint version" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

run "$XL" checkpoint bogus
if [ $rc -eq 2 ] && one_line_err "bogus: "; then
    ok "xl checkpoint bogus: exit 2, one line"
else
    not_ok "xl checkpoint bogus: exit 2, one line" "rc=$rc" "$(cat "$T/err")"
fi

mkdir -p "$T/empty-n"
run "$XL" -N checkpoint -r "$T/empty-n" prune --keep-last 1 --apply --all
if [ $rc -eq 0 ] && grep -q "dry run" "$T/out"; then
    ok "xl -N checkpoint: the dry run reaches xl-checkpoint (prune --apply only shows)"
else
    not_ok "xl -N checkpoint passes the dry run on" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

# XLCP_REAL_XL naming the dispatcher itself, or a symlink to it: refused, no loop.
ln -s "$XL" "$T/xl-link"
for self in "$XL" "$T/xl-link"; do
    XLCP_REAL_XL=$self run "$XL" list
    if [ $rc -eq 127 ] && [ "$(wc -l <"$T/err")" -eq 1 ]; then
        ok "XLCP_REAL_XL=$(basename "$self") (the dispatcher) is refused with 127"
    else
        not_ok "XLCP_REAL_XL=$self is refused with 127" "rc=$rc" "$(cat "$T/err")"
    fi
done

# Real xl found on PATH, skipping the dispatcher itself, a symlink to it and a copy of it.
unset XLCP_REAL_XL
mkdir -p "$T/p1" "$T/p2" "$T/p3" "$T/p4"
ln -s "$XL" "$T/p1/xl"
cp "$XL" "$T/p2/xl"
cp "$T/realxl" "$T/p3/xl"
PATH="$T/p1:$T/p2:$T/p3:$PATH" run "$T/p1/xl" list -l
if [ $rc -eq 0 ] && cmp -s "$T/out" "$T/want-list"; then
    ok "real xl found on PATH past the dispatcher, its symlink and its copy"
else
    not_ok "real xl found on PATH" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

# No real xl anywhere: one line, exit 127 (only where /usr/sbin/xl does not exist).
if [ -e /usr/sbin/xl ]; then
    ok "# SKIP no-real-xl case: /usr/sbin/xl exists on this host"
else
    PATH="$T/p1:$T/p2:/usr/bin:/bin" run "$T/p1/xl" list
    if [ $rc -eq 127 ] && [ "$(wc -l <"$T/err")" -eq 1 ]; then
        ok "no real xl: exit 127, one line"
    else
        not_ok "no real xl: exit 127, one line" "rc=$rc" "$(cat "$T/err")"
    fi
fi

# xl-checkpoint found on PATH when it is not next to the dispatcher.
cp "$XL" "$T/p4/xl"
ln -s "$XLCP" "$T/p3/xl-checkpoint"
PATH="$T/p3:$PATH" run "$T/p4/xl" checkpoint version
if [ $rc -eq 0 ] && grep -q "^xl-checkpoint " "$T/out"; then
    ok "xl-checkpoint found on PATH"
else
    not_ok "xl-checkpoint found on PATH" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

# ---- xl-checkpoint ------------------------------------------------------------------

run "$XLCP" --help
missing=
for s in create list info verify delete restore help version; do
    grep -q "^  $s" "$T/out" || missing="$missing $s"
done
if [ $rc -eq 0 ] && [ -z "$missing" ] && [ ! -s "$T/err" ]; then
    ok "xl-checkpoint --help lists every subcommand"
else
    not_ok "xl-checkpoint --help lists every subcommand" "rc=$rc missing:$missing"
fi

run "$XLCP"
if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ]; then
    ok "xl-checkpoint without a subcommand: exit 2, one line"
else
    not_ok "xl-checkpoint without a subcommand" "rc=$rc" "$(cat "$T/err")"
fi

run "$XLCP" bogus
if [ $rc -eq 2 ] && one_line_err "bogus: "; then
    ok "xl-checkpoint bogus: exit 2, one line"
else
    not_ok "xl-checkpoint bogus: exit 2, one line" "rc=$rc" "$(cat "$T/err")"
fi

run "$XLCP" create
if [ $rc -eq 2 ] && one_line_err "create: missing"; then
    ok "xl-checkpoint create without a domain: exit 2, one line"
else
    not_ok "xl-checkpoint create without a domain" "rc=$rc" "$(cat "$T/err")"
fi

run "$XLCP" create --snapshot-size=lots web1
if [ $rc -eq 2 ] && one_line_err "create: bad --snapshot-size"; then
    ok "bad option value: exit 2, one line"
else
    not_ok "bad option value: exit 2, one line" "rc=$rc" "$(cat "$T/err")"
fi

: >"$T/file"
run "$XLCP" -r "$T/file/catalog" list
if [ $rc -eq 11 ] && one_line_err "list: "; then
    ok "catalog root under a regular file: exit 11, one line"
else
    not_ok "catalog root under a regular file: exit 11, one line" "rc=$rc" "$(cat "$T/err")"
fi

XLCP_CATALOG_ROOT="$T/file/catalog" run "$XLCP" list --json
if [ $rc -eq 11 ] && one_line_err "list: "; then
    ok "XLCP_CATALOG_ROOT is honoured"
else
    not_ok "XLCP_CATALOG_ROOT is honoured" "rc=$rc" "$(cat "$T/err")"
fi

mkdir "$T/empty"
run "$XLCP" -r "$T/empty" list --json
if [ $rc -eq 0 ] && [ "$(tr -d ' \n' <"$T/out")" = '{"format_version":1,"checkpoints":[]}' ]; then
    ok "empty catalog: list --json prints no checkpoints"
else
    not_ok "empty catalog: list --json prints no checkpoints" "rc=$rc" "$(cat "$T/out" "$T/err")"
fi

run "$XLCP" -r "$T/empty" info 20260101T000000.000Z-000000
if [ $rc -eq 3 ] && one_line_err "info: "; then
    ok "unknown checkpoint: exit 3, one line"
else
    not_ok "unknown checkpoint: exit 3, one line" "rc=$rc" "$(cat "$T/err")"
fi

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
