"""Throwaway Redis and RabbitMQ servers for drills that restart them.

The machine's own servers are shared with everyone's tests and are never restarted; a drill
that restarts one starts its own on free ports, in a directory of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import redis

from tests.support.stack import free_port

START_TIMEOUT_SECONDS = 60


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_until(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {seconds:.0f}s")
        time.sleep(0.1)


class OwnRedis:
    """A redis-server child process with an append-only file, so a restart keeps its data
    (and answers LOADING while it reads it back, as a production Redis would)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        """True if this machine can run a redis-server of its own."""
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        log = (self.dir / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_until(self._answers, START_TIMEOUT_SECONDS, "redis-server")

    def _answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM (Redis writes its append-only file and exits), then wait."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)
        self._process = None

    def restart(self, down_seconds: float = 1.0) -> None:
        """Stop, stay down a moment (as a supervisor's restart does), start on the same port."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def reset_connections(self) -> int:
        """CLIENT KILL TYPE normal: every client connection is dropped; returns how many."""
        client = redis.Redis(port=self.port, socket_timeout=2)
        try:
            return int(client.execute_command("CLIENT", "KILL", "TYPE", "normal"))
        finally:
            client.close()


class OwnRabbitMQ:
    """A RabbitMQ node of its own (name, AMQP and distribution ports, data directory).

    Its directory is a fresh one under the system's temporary folder, open to the rabbitmq
    user the server scripts switch to; ``remove()`` deletes it.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.node = f"drill-{uuid.uuid4().hex[:8]}@localhost"
        self.dir = Path(tempfile.mkdtemp(prefix="frontdesk-rabbitmq-"))
        self.dir.chmod(0o755)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._env = os.environ | {
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "node.pid"),
        }

    @staticmethod
    def available() -> bool:
        """True if this machine can run a RabbitMQ node of its own."""
        return (
            shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None
        )

    def start(self) -> None:
        """Start the node (detached) and wait until it takes AMQP connections."""
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (self.dir / "enabled_plugins").write_text("[].\n")
        # The server scripts drop to the rabbitmq user when started as root.
        if os.geteuid() == 0 and shutil.which("chown"):
            subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.dir)], check=False)
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=self._env, check=True, capture_output=True
        )
        _wait_until(lambda: _listening(self.port), START_TIMEOUT_SECONDS, "RabbitMQ")

    def stop(self) -> None:
        """Shut the node down and wait until it has stopped."""
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, "shutdown"],
            env=self._env,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def restart(self) -> None:
        """Stop and start again: every connection drops; durable queues come back."""
        self.stop()
        self.start()

    def remove(self) -> None:
        """Delete the node's directory (after stop)."""
        shutil.rmtree(self.dir, ignore_errors=True)
