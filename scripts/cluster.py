"""A Kubernetes control plane on loopback: `make cluster-up` and `make cluster-down`.

    python -m scripts.cluster up [--dir build/cluster] [--nodes 1]
    python -m scripts.cluster down [--dir build/cluster]

Starts, from the tools `make tools` built (the cluster tier): etcd (TLS, client certificates required),
kube-apiserver (with certificates and service-account keys generated into the directory, Pod Security
Admission and the default admission plugins, RBAC), kube-controller-manager, kube-scheduler, and kwok, which
plays the kubelet of one or more fake nodes (pods turn Running without containers). Everything listens on
127.0.0.1 only, on free ports, and everything it writes is in the directory (mode 700): `kubeconfig`
(cluster-admin), `env` (`export KUBECONFIG=...` and the PIDs), `state.json`, `pki/`, `logs/`, `etcd/`.

`up` checks the binaries and openssl first, then waits for `/readyz` and for the nodes to be Ready, exits 0
and leaves the processes running; a failed start stops what it started, exits 1 and prints the last lines of
the failing component's log. `up` over the leftovers of a cluster that no longer runs (a failed start, a
reboot) removes them and starts afresh; it refuses a directory whose processes still run, or that holds
files but no `state.json`. `down` stops the processes it started (each is checked by its start time and
executable before it is signalled, so a PID reused by another process is left alone) and removes only what
`up` created.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scripts import tools
from scripts.tools.build import built_binary
from scripts.tools.pins import load as load_pins

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "build" / "cluster"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODE_CAPACITY = {"cpu": "32", "memory": "256Gi", "pods": "110"}
STAGES = ("node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-ready.yaml", "pod-complete.yaml",
          "pod-delete.yaml")
"""kwok's stages (from the kwok module, copied by make tools): nodes turn Ready and keep a lease, pods run,
complete and go away when deleted."""
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
BINARIES = (*COMPONENTS, "kubectl")
OWNED = ("pki", "logs", "etcd", "kubeconfig", "env", "state.json", "state.json.tmp")
"""Everything `up` writes into the directory, and all that `down` removes."""
PORTS = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
READY_TIMEOUT = 90.0
LOG_TAIL = 30
KUBECTL_TIMEOUT = 120


class ClusterError(Exception):
    """The cluster could not start or stop; the message names the component and quotes its log."""


class PortTaken(ClusterError):
    """A component found its port taken (by another process, between choosing it and binding it)."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the kernel's choice for a bind to port 0).

    There is a small race: the probe socket is closed before the port is returned, so another process may
    bind the port before the caller does. `up` tells that case apart (`PortTaken`) and retries once with new
    ports; the tests, which share this function (tests.doubles.processes), accept the race."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openssl(*args: str, cwd: Path) -> None:
    try:
        result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                                check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {error}") from None
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


# --- process identity ----------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 on), or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold ")": split at the last one.
    return text.rsplit(")", 1)[1].split()


def identity(pid: int) -> dict[str, Any] | None:
    """What tells this process from a later one with the same PID: its start time (clock ticks after boot,
    field 22 of /proc/<pid>/stat) and its executable."""
    fields = _stat(pid)
    if fields is None:
        return None
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = ""
    return {"pid": pid, "start": fields[19], "exe": exe.removesuffix(" (deleted)")}


def _alive(pid: int) -> bool:
    # A child of this process that exited is a zombie until reaped: not alive.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def same_process(recorded: Any) -> bool:
    """Whether the process `up` recorded still runs: same PID, start time and executable."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("pid"), int) or not recorded.get("start"):
        return False  # no identity recorded: never signal it
    if not _alive(recorded["pid"]):
        return False
    current = identity(recorded["pid"])
    return current is not None and current["start"] == recorded.get("start") and \
        (not recorded.get("exe") or current["exe"] == recorded["exe"])


@dataclass
class Cluster:
    """The control plane in `directory`."""

    directory: Path = DEFAULT_DIR
    nodes: int = 1
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_directory: bool = False
    binaries: dict[str, str] = field(default_factory=dict)
    cleared: bool = False
    """`up` removed the leftovers of a cluster that no longer ran."""

    @property
    def pids(self) -> dict[str, int]:
        return {name: process["pid"] for name, process in self.processes.items()}

    @property
    def pki(self) -> Path:
        return self.directory / "pki"

    @property
    def logs(self) -> Path:
        return self.directory / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    # --- certificates and kubeconfigs ---------------------------------------------------------------

    def _certificates(self) -> None:
        pki = self.pki
        pki.mkdir(mode=0o700, exist_ok=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days",
                "30", "-subj", "/CN=faasplane-loopback-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=pki)
        # The front-proxy CA the API server must name (the controller-manager and the scheduler read it from
        # the extension-apiserver-authentication ConfigMap) signs nothing: its key is deleted at once, so no
        # one can make a certificate that impersonates users through request headers.
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "front-proxy-ca.key", "-out",
                "front-proxy-ca.crt", "-days", "30", "-subj", "/CN=faasplane-unused-front-proxy-ca", cwd=pki)
        (pki / "front-proxy-ca.key").unlink()
        loopback = "IP:127.0.0.1,DNS:localhost"
        names = [loopback, f"IP:{SERVICE_IP}", "DNS:kubernetes", "DNS:kubernetes.default",
                 "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"]
        self._sign("apiserver", "/CN=kube-apiserver", "serverAuth", ",".join(names))
        # etcd's serving and peer certificate, and the API server's client certificate for etcd.
        self._sign("etcd", "/CN=faasplane-etcd", "serverAuth,clientAuth", loopback)
        self._sign("etcd-client", "/CN=kube-apiserver-etcd-client", "clientAuth")
        # The controller-manager and the scheduler serve their healthz with these too, so that the readiness
        # probe knows it reached them and not whatever else listens on the port.
        for name, subject in (("controller-manager", "/CN=system:kube-controller-manager"),
                              ("scheduler", "/CN=system:kube-scheduler")):
            self._sign(name, subject, "serverAuth,clientAuth", loopback)
        for name, subject in (("admin", "/CN=faasplane-admin/O=system:masters"),
                              ("kwok", "/CN=kwok-controller/O=system:masters")):
            self._sign(name, subject, "clientAuth")
        openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
        for key in pki.glob("*.key"):
            key.chmod(0o600)

    def _sign(self, name: str, subject: str, usage: str, alt_names: str | None = None) -> None:
        extensions = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                      f"extendedKeyUsage={usage}"] + ([f"subjectAltName={alt_names}"] if alt_names else [])
        (self.pki / f"{name}.ext").write_text("\n".join(extensions) + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                subject, cwd=self.pki)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=self.pki)

    def _kubeconfig(self, user: str, path: Path, context: str = "faasplane-loopback") -> Path:
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.server,
                                                       "certificate-authority": str(self.pki / "ca.crt")}}],
            "users": [{"name": user, "user": {"client-certificate": str(self.pki / f"{user}.crt"),
                                              "client-key": str(self.pki / f"{user}.key")}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
            "current-context": context,
        }
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    # --- processes ------------------------------------------------------------------------------------

    @staticmethod
    def _binary(name: str) -> str:
        located = tools.locate(name, allow_system=False)
        if located is None:
            raise ClusterError(f"{name} is not built: run `make tools TIERS=cluster` (builds into {tools.home()})")
        return str(located.path)

    @classmethod
    def preflight(cls) -> tuple[dict[str, str], list[Path]]:
        """Every binary, kwok's stages and openssl, before anything is written or started."""
        missing = [name for name in BINARIES if tools.locate(name, allow_system=False) is None]
        if missing:
            raise ClusterError(f"{', '.join(missing)} not built: run `make tools TIERS=cluster` "
                               f"(builds into {tools.home()})")
        [kwok] = [tool for tool in load_pins() if tool.name == "kwok"]
        stages = [built_binary(kwok, f"stages/{stage}") for stage in STAGES]
        if None in stages:
            raise ClusterError("kwok's stages are not built: run `make tools TIERS=cluster`")
        if shutil.which("openssl") is None:
            raise ClusterError("openssl is not installed (it makes the cluster's certificates): "
                               "apt-get install openssl")
        return {name: cls._binary(name) for name in BINARIES}, [stage for stage in stages if stage is not None]

    def _start(self, name: str, args: list[str]) -> None:
        # Opened afresh: a log quoted on failure is this start's.
        with (self.logs / f"{name}.log").open("wb") as log:
            # A session of its own: the process outlives `make cluster-up` and is stopped by `down`.
            process = subprocess.Popen([self.binaries[name], *args], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.directory)
        # Popen returns after the exec: /proc already shows the component's executable.
        self.processes[name] = identity(process.pid) or {"pid": process.pid, "start": None, "exe": ""}
        self._save()

    def _tail(self, name: str) -> str:
        try:
            lines = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-LOG_TAIL:])

    def _wait(self, name: str, ready: Any, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(self.processes[name]["pid"]):
                tail = self._tail(name)
                kind = PortTaken if "address already in use" in tail else ClusterError
                raise kind(f"{name} exited while starting; the last lines of {self.logs / name}.log:\n{tail}")
            if ready():
                return
            time.sleep(0.2)
        raise ClusterError(f"{name} was not ready after {timeout:.0f}s; the last lines of its log:\n{self._tail(name)}")

    def _get(self, url: str, client: str | None = "admin") -> bool:
        """Whether `url` answers 200, over TLS verified with the cluster's CA (and `client`'s certificate)."""
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        if client is not None:
            context.load_cert_chain(str(self.pki / f"{client}.crt"), str(self.pki / f"{client}.key"))
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 (loopback)
                return response.status == 200
        except (OSError, ssl.SSLError):
            return False

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True,
                timeout: float = KUBECTL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        command = [self._binary("kubectl"), f"--kubeconfig={self.kubeconfig}", *args]
        try:
            result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout,
                                    check=False)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"kubectl {' '.join(args)} timed out after {timeout:.0f}s") from None
        except OSError as error:
            raise ClusterError(f"kubectl {' '.join(args)} could not run: {error}") from None
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    # --- up and down ----------------------------------------------------------------------------------

    def _claim_directory(self) -> None:
        """Make the directory this cluster's: new, empty, or the leftovers of a cluster that no longer runs."""
        directory = self.directory
        if self.state_file.exists():
            previous = Cluster.load(directory)
            if previous.running():
                raise ClusterError(f"a cluster is already running from {directory}: `make cluster-down` first")
            # A failed start, a killed `make` or a reboot: nothing of it runs, so its data goes.
            self.created_directory = previous.created_directory
            self._remove_owned()
            self.cleared = True
        elif directory.exists():
            if not directory.is_dir():
                raise ClusterError(f"{directory} is not a directory")
            if any(directory.iterdir()):
                raise ClusterError(f"{directory} holds files but no cluster (no state.json): "
                                   "choose another --dir, or empty it")
        else:
            directory.mkdir(mode=0o700, parents=True)
            self.created_directory = True
        directory.chmod(0o700)
        self._save()  # from here on, `down` (or the next `up`) knows what is ours

    def _remove_owned(self) -> None:
        for name in OWNED:
            path = self.directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def up(self) -> float:
        """Start everything, wait until it serves; returns the seconds it took."""
        started = time.monotonic()
        self.binaries, stages = self.preflight()
        self._claim_directory()
        for attempt in (1, 2):
            self.ports = {name: free_port() for name in PORTS}
            try:
                self.logs.mkdir(mode=0o700, exist_ok=True)
                self._certificates()
                self._kubeconfig("admin", self.kubeconfig)
                for user in ("controller-manager", "scheduler", "kwok"):
                    self._kubeconfig(user, self.pki / f"{user}.kubeconfig")
                self._start_all(stages)
                self._add_nodes()
            except PortTaken:
                self.stop()
                if attempt == 2:
                    raise
                continue  # another process took a port between choosing and binding it: new ports, once
            except BaseException:
                self.stop()
                raise
            break
        self._write_env()
        return time.monotonic() - started

    def _start_all(self, stages: list[Path]) -> None:
        pki, ports = self.pki, self.ports
        etcd = f"https://127.0.0.1:{ports['etcd']}"
        peer = f"https://127.0.0.1:{ports['etcd-peer']}"
        etcd_data = self.directory / "etcd"
        etcd_data.mkdir(mode=0o700, exist_ok=True)
        self._start("etcd", [
            "--name=faasplane", f"--data-dir={etcd_data}", f"--listen-client-urls={etcd}",
            f"--advertise-client-urls={etcd}", f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=faasplane={peer}", "--log-level=warn",
            # Clients and peers over TLS with certificates from the cluster's CA only.
            f"--cert-file={pki / 'etcd.crt'}", f"--key-file={pki / 'etcd.key'}", "--client-cert-auth",
            f"--trusted-ca-file={pki / 'ca.crt'}", f"--peer-cert-file={pki / 'etcd.crt'}",
            f"--peer-key-file={pki / 'etcd.key'}", "--peer-client-cert-auth",
            f"--peer-trusted-ca-file={pki / 'ca.crt'}",
        ])
        self._wait("etcd", lambda: self._get(f"{etcd}/health", client="etcd-client"))
        self._start("kube-apiserver", [
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={ports['apiserver']}",
            f"--etcd-servers={etcd}", f"--etcd-cafile={pki / 'ca.crt'}", f"--etcd-certfile={pki / 'etcd-client.crt'}",
            f"--etcd-keyfile={pki / 'etcd-client.key'}", f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}", f"--client-ca-file={pki / 'ca.crt'}",
            f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--authorization-mode=Node,RBAC",
            # The default admission plugins (PodSecurity among them) plus NodeRestriction, as kubeadm sets.
            "--enable-admission-plugins=NodeRestriction", "--allow-privileged=true",
            # A loopback advertise address is refused by the default endpoint reconciler.
            "--endpoint-reconciler-type=none",
        ])
        self._wait("kube-apiserver", lambda: self._get(f"{self.server}/readyz"))
        common = ["--bind-address=127.0.0.1", "--leader-elect=false"]
        controller = self.pki / "controller-manager.kubeconfig"
        self._start("kube-controller-manager", [
            *common, f"--secure-port={ports['controller-manager']}", f"--kubeconfig={controller}",
            f"--authentication-kubeconfig={controller}", f"--authorization-kubeconfig={controller}",
            f"--tls-cert-file={pki / 'controller-manager.crt'}",
            f"--tls-private-key-file={pki / 'controller-manager.key'}",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            "--use-service-account-credentials=true", "--controllers=*", f"--service-cluster-ip-range={SERVICE_CIDR}",
        ])
        scheduler = self.pki / "scheduler.kubeconfig"
        self._start("kube-scheduler", [
            *common, f"--secure-port={ports['scheduler']}", f"--kubeconfig={scheduler}",
            f"--authentication-kubeconfig={scheduler}", f"--authorization-kubeconfig={scheduler}",
            f"--tls-cert-file={pki / 'scheduler.crt'}", f"--tls-private-key-file={pki / 'scheduler.key'}",
        ])
        self._start("kwok", [
            f"--kubeconfig={self.pki / 'kwok.kubeconfig'}", "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake", "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{ports['kwok']}", *(f"--config={stage}" for stage in stages),
        ])
        # /healthz is always allowed; the certificate (signed by the cluster's CA) proves who answered.
        self._wait("kube-controller-manager",
                   lambda: self._get(f"https://127.0.0.1:{ports['controller-manager']}/healthz", client=None))
        self._wait("kube-scheduler",
                   lambda: self._get(f"https://127.0.0.1:{ports['scheduler']}/healthz", client=None))

    def _add_nodes(self) -> None:
        for index in range(self.nodes):
            node = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": f"kwok-node-{index}",
                    "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {"kubernetes.io/hostname": f"kwok-node-{index}", "kubernetes.io/os": "linux",
                               "kubernetes.io/arch": "amd64", "type": "kwok"},
                },
                "status": {"allocatable": NODE_CAPACITY, "capacity": NODE_CAPACITY},
            }
            self.kubectl("apply", "-f", "-", stdin=json.dumps(node))
        self._wait("kwok", lambda: self.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=2s",
                                                check=False, timeout=30).returncode == 0)

    def _save(self) -> None:
        state = {"ports": self.ports, "processes": self.processes, "nodes": self.nodes,
                 "created_directory": self.created_directory}
        partial = self.directory / "state.json.tmp"
        partial.write_text(json.dumps(state, indent=1))
        partial.replace(self.state_file)

    def _write_env(self) -> None:
        lines = [f"# The loopback cluster in {self.directory}: . {self.directory / 'env'}",
                 f"export KUBECONFIG={shlex.quote(str(self.kubeconfig))}"]
        lines += [f"export FAASPLANE_CLUSTER_PID_{name.upper().replace('-', '_')}={pid}"
                  for name, pid in self.pids.items()]
        (self.directory / "env").write_text("\n".join(lines) + "\n")

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> Cluster:
        path = directory / "state.json"
        try:
            state = json.loads(path.read_text())
            processes = state.get("processes", {})
            if not isinstance(processes, dict):
                raise TypeError("processes is not a mapping")
            return cls(directory, int(state.get("nodes", 1)), dict(state.get("ports", {})), processes,
                       bool(state.get("created_directory", False)))
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise ClusterError(f"{path} is unreadable ({error}): stop its processes by hand, then remove "
                               f"{directory}") from None

    def running(self) -> bool:
        return any(same_process(process) for process in self.processes.values())

    def stop(self, timeout: float = 15.0) -> list[str]:
        """Stop every process `up` started (SIGTERM to its process group, then SIGKILL), components in reverse
        order; a recorded PID that now belongs to another process is not signalled. Returns what still runs."""
        left = []
        for name in reversed(COMPONENTS):
            process = self.processes.get(name)
            if process is None or not same_process(process):
                continue
            pid = process["pid"]
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                try:
                    # Started with a session of its own, so its PID is its process group.
                    if os.getpgid(pid) == pid:
                        os.killpg(pid, sig)
                    else:
                        os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not _alive(pid):
                    break
            else:
                left.append(f"{name} (pid {pid})")
        return left

    def down(self) -> None:
        """Stop the processes, then remove what `up` created (the directory too if `up` made it)."""
        left = self.stop()
        if left:
            raise ClusterError(f"{', '.join(left)} still running: {self.directory} kept")
        self._remove_owned()
        if self.created_directory:
            try:
                self.directory.rmdir()
            except OSError:
                pass  # something else was put there since: it stays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state directory (default build/cluster)")
    parser.add_argument("--nodes", type=int, default=1, help="kwok nodes")
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    try:
        if args.command == "down":
            if not (directory / "state.json").exists():
                print(f"no cluster in {directory}")
                return 0
            Cluster.load(directory).down()
            print(f"stopped the cluster and removed its files from {directory}")
            print("  (an engine stack deployed to it with CLUSTER=1 is refreshed by the next make engine CLUSTER=1)")
            return 0
        cluster = Cluster(directory, args.nodes)
        seconds = cluster.up()
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if cluster.cleared:
        print(f"removed the files of a cluster that no longer ran from {directory}")
    print(f"cluster up in {seconds:.1f}s: Kubernetes at {cluster.server}, {cluster.nodes} kwok node(s)")
    print(f"  . {directory / 'env'}   # KUBECONFIG={cluster.kubeconfig}")
    print("  make engine STACK=dev CLUSTER=1   # the real pulumi up against it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
