#!/usr/bin/python3
"""Memory of a paged list against an unpaged one (issue 24): a rockpoold
(--runtime none, plain HTTP on loopback) holding N WorkspaceTemplates is
restarted, then lists them all, either in pages of LIMIT (following continue
tokens) or in one response; the daemon's peak RSS (VmHWM) growth over its
idle peak after the restart is printed side by side, with the time taken.

Usage: tests/bench/paged_list_bench.py ROCKPOOLD [N=10000] [LIMIT=500]
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROCKPOOLD = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
LIMIT = int(sys.argv[3]) if len(sys.argv) > 3 else 500
PATH = "/apis/rockpool.dev/v1alpha1/workspacetemplates"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data, port, token_file):
    p = subprocess.Popen([ROCKPOOLD, "--runtime", "none", "--data-dir", data, "--socket",
                          os.path.join(os.path.dirname(data), "api.sock"), "--listen", f"127.0.0.1:{port}",
                          "--plain-http", "--token-file", token_file, "--bridge", "none"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("rockpoold did not start")


def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    tmp = tempfile.mkdtemp(prefix="rockpool-paged-")
    token = os.urandom(16).hex()
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write(token)
    os.chmod(token_file, 0o600)
    port, data = free_port(), os.path.join(tmp, "db")
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    p = start(data, port, token_file)
    c = http.client.HTTPConnection("127.0.0.1", port)
    t = time.time()
    for i in range(N):
        body = json.dumps({"apiVersion": "rockpool.dev/v1alpha1", "kind": "WorkspaceTemplate",
                           "metadata": {"name": f"t-{i:06d}", "labels": {"bench": "paged"}},
                           "spec": {"image": "rockpool-tiny", "description": "x" * 200}})
        c.request("POST", PATH, body, headers)
        r = c.getresponse()
        r.read()
        assert r.status == 201, r.status
    print(f"created {N} objects in {time.time() - t:.1f} s")
    rows = []
    for mode in ("paged", "unpaged"):
        p.terminate()
        p.wait()
        p = start(data, port, token_file)
        time.sleep(1)
        idle = hwm_kib(p.pid)
        c = http.client.HTTPConnection("127.0.0.1", port)
        t = time.time()
        seen, pages, token_ = 0, 0, ""
        while True:
            q = f"?limit={LIMIT}" + (f"&continue={token_}" if token_ else "") if mode == "paged" else ""
            c.request("GET", PATH + q, headers=headers)
            page = json.loads(c.getresponse().read())
            seen += len(page["items"])
            pages += 1
            token_ = page["metadata"].get("continue", "")
            if not token_:
                break
        took = time.time() - t
        rows.append((mode, pages, seen, took, hwm_kib(p.pid) - idle, idle))
    p.terminate()
    p.wait()
    shutil.rmtree(tmp)
    print(f"{'list':8} {'pages':>6} {'items':>7} {'time':>8} {'peak RSS growth':>16} {'idle peak':>10}")
    for mode, pages, seen, took, growth, idle in rows:
        print(f"{mode:8} {pages:6d} {seen:7d} {took:7.2f}s {growth / 1024:13.1f} MiB {idle / 1024:7.1f} MiB")


if __name__ == "__main__":
    main()
