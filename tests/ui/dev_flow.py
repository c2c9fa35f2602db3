#!/usr/bin/python3
"""The seed's developer flow in a real headless Chromium (issue 22, item 7):
sign in with a single-use link, open a developer nested host's IDE at
/workspace/NH/, open its terminal, run COMMAND there (the caller's: clone
Rockpool and ./run.sh it), then wait for the Rockpool that COMMAND brought up
to answer through the outer Caddy at INNER_URL with its "Inner Rockpool"
banner. STATUS is a shell command that prints COMMAND's exit code once it
has ended (nothing before): a failed COMMAND ends the wait at once.
Screenshots of each step go to ARTIFACT_DIR.

Every address is the caller's: 127.0.0.1 (the outer Caddy); Chromium is given
a dead proxy for anything else. Waiting is bounded by WAIT_SECONDS.

Usage: dev_flow.py SIGNIN_URL INNER_URL BANNER WAIT_SECONDS ARTIFACT_DIR COMMAND STATUS
Exit 0 pass, 1 fail, 77 no browser (and not under CI=true).
"""
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

SIGNIN_URL, INNER_URL, BANNER, WAIT_SECONDS, ARTIFACTS, COMMAND, STATUS = sys.argv[1:8]
CI = os.environ.get("CI") == "true"
try:
    from browser import browser, shot, vscode_terminal
except ImportError:
    print("dev_flow: python3-selenium is missing")
    sys.exit(1 if CI else 77)
for tool in ("chromium", "chromedriver"):
    if not shutil.which(tool):
        print(f"dev_flow: {tool} is missing")
        sys.exit(1 if CI else 77)


def fetch(url, cookies):
    """The page at url with the browser's cookies, or "" while nothing answers."""
    req = urllib.request.Request(url, headers={
        "Cookie": "; ".join(f"{c['name']}={c['value']}" for c in cookies)})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return ""


def main():
    d = browser()
    try:
        t = time.time()
        d.get(SIGNIN_URL)  # -> 303 to /workspace/NH/ with the sign-in cookie
        term, rendered = vscode_terminal(d)
        print(f"  ok    the nested host's VS Code workbench renders ({rendered:.1f} s); "
              f"terminal open after {time.time() - t:.1f} s", flush=True)
        print("     screenshot:", shot(d, ARTIFACTS, "dev-flow-1-workbench"), flush=True)
        term.send_keys(COMMAND + "\n")
        time.sleep(3)
        print("     screenshot:", shot(d, ARTIFACTS, "dev-flow-2-terminal"), flush=True)
        # What the command brings up answers through the outer Caddy: polled
        # every 5 s with the browser's sign-in cookie, bounded in time.
        t = time.time()
        page = ""
        ended = ""
        while time.time() - t < float(WAIT_SECONDS) and BANNER not in page:
            time.sleep(5)
            page = fetch(INNER_URL, d.get_cookies())
            ended = subprocess.run(STATUS, shell=True, capture_output=True, text=True,
                                   timeout=60).stdout.strip()
            if ended not in ("", "0"):
                break
        print("     screenshot:", shot(d, ARTIFACTS, "dev-flow-3-run"), flush=True)
        if ended not in ("", "0"):
            print(f"  FAIL  the command in the terminal exited with {ended}", flush=True)
            return 1
        if BANNER not in page:
            print(f"  FAIL  {INNER_URL} did not show {BANNER!r} within {WAIT_SECONDS} s", flush=True)
            return 1
        print(f"  ok    {INNER_URL} answers with {BANNER!r} {time.time() - t:.0f} s after the "
              "command was typed", flush=True)
        d.switch_to.new_window("tab")
        d.get(INNER_URL)
        time.sleep(2)
        print("     screenshot:", shot(d, ARTIFACTS, "dev-flow-4-inner-ui"), flush=True)
        ok = BANNER in d.page_source
        print(("  ok    " if ok else "  FAIL  ") + "the browser shows the inner UI's banner", flush=True)
        return 0 if ok else 1
    finally:
        d.quit()


if __name__ == "__main__":
    sys.exit(main())
