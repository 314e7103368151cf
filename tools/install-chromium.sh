#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the browser test (tests/test_browser.py).
#
# Does nothing when /usr/bin/chromium and /usr/bin/chromedriver are both there.
# Otherwise installs the Debian packages 'chromium' and 'chromium-driver' with
# apt-get (as root, or through sudo without a password). Where that is not
# possible (no apt-get, not root), it says what is missing and exits 0: the
# browser test then skips with the same message. An apt-get that is possible
# but fails is an error.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: no apt-get here; install Chromium and ChromeDriver by hand" \
         "($CHROMIUM, $CHROMEDRIVER) or the browser test is skipped" >&2
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install-chromium: not root and no password-less sudo; run" \
         "'apt-get install chromium chromium-driver' as root or the browser test is skipped" >&2
    exit 0
fi

echo "install-chromium: installing the Debian packages chromium and chromium-driver" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
"$CHROMIUM" --version >&2
"$CHROMEDRIVER" --version >&2
