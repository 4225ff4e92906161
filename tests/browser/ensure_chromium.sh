#!/usr/bin/env bash
# Make sure Debian's headless browser pair is installed for the browser test (tests/browser/):
# /usr/bin/chromium and /usr/bin/chromedriver (packages `chromium`, `chromium-driver`).
# Idempotent: does nothing when both exist. Nothing is downloaded at test time besides these
# apt packages; Selenium is pointed at this chromedriver and never fetches a browser itself.
set -euo pipefail

CHROMIUM=${IFL_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${IFL_CHROMEDRIVER:-/usr/bin/chromedriver}

if [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]]; then
    echo "ensure_chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") and chromedriver present" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: $CHROMIUM or $CHROMEDRIVER missing and apt-get is not available;" \
         "install Chromium and a matching chromedriver, or set IFL_CHROMIUM / IFL_CHROMEDRIVER" >&2
    exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "ensure_chromium: not root and no sudo; run as root:" \
             "apt-get update && apt-get install -y chromium chromium-driver" >&2
        exit 1
    fi
fi

echo "ensure_chromium: installing chromium and chromium-driver with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver

for f in "$CHROMIUM" "$CHROMEDRIVER"; do
    if [[ ! -x "$f" ]]; then
        echo "ensure_chromium: $f still missing after apt-get install" >&2
        exit 1
    fi
done
echo "ensure_chromium: $("$CHROMIUM" --version) installed" >&2
