"""A rockpoold process for Python tests: its own data directory, token,
unix socket and loopback port, started on construction."""
import os
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, rockpoold, rpctl, tmp, name, extra=(), runtime="fake", plain_http=False):
        self.rpctl_path = rpctl
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.token = os.urandom(16).hex()
        with open(os.path.join(self.dir, "token"), "w") as f:
            f.write(self.token)
        os.chmod(os.path.join(self.dir, "token"), 0o600)
        self.port = free_port()
        self.sock = os.path.join(self.dir, "api.sock")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [rockpoold, "--runtime", runtime, "--data-dir", os.path.join(self.dir, "db"),
             "--socket", self.sock, "--listen", f"127.0.0.1:{self.port}",
             *(["--plain-http"] if plain_http else []),
             "--token-file", os.path.join(self.dir, "token"),
             "--sweep-interval", "0" if runtime == "fake" else "30",
             "--bridge", "none", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)

    def rpctl(self, *args):
        env = dict(os.environ, ROCKPOOL_SERVER="unix://" + self.sock)
        return subprocess.run([self.rpctl_path, *args], env=env, capture_output=True, text=True, timeout=60)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
