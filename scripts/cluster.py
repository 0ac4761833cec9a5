"""A Kubernetes control plane on loopback: `make cluster-up` and `make cluster-down`.

    python -m scripts.cluster up [--dir build/cluster] [--nodes 1]
    python -m scripts.cluster down [--dir build/cluster]

Starts, from the tools `make tools` built (the cluster tier): etcd, kube-apiserver (with certificates and
service-account keys generated into the directory, Pod Security Admission and the default admission
plugins, RBAC), kube-controller-manager, kube-scheduler, and kwok, which plays the kubelet of one or more
fake nodes (pods turn Running without containers). Everything listens on 127.0.0.1 only, on free ports,
and everything it writes is in the directory: `kubeconfig` (cluster-admin), `env` (`export KUBECONFIG=...`
and the PIDs), `pki/`, `logs/`, `etcd/`. `up` waits for `/readyz` and for the nodes to be Ready, then exits 0
and leaves the processes running; a failed start stops what it started, exits 1 and prints the last lines of
the failing component's log. `down` stops every process by its PID and removes the directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
READY_TIMEOUT = 90.0
LOG_TAIL = 30


class ClusterError(Exception):
    """The cluster could not start; the message names the component and quotes its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


@dataclass
class Cluster:
    """The control plane in `directory`."""

    directory: Path = DEFAULT_DIR
    nodes: int = 1
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)

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
        pki.mkdir(parents=True, exist_ok=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days",
                "30", "-subj", "/CN=faasplane-loopback-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=pki)
        names = ["IP:127.0.0.1", f"IP:{SERVICE_IP}", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
                 "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"]
        self._sign("apiserver", "/CN=kube-apiserver", "serverAuth", ",".join(names))
        for name, subject in (("admin", "/CN=faasplane-admin/O=system:masters"),
                              ("controller-manager", "/CN=system:kube-controller-manager"),
                              ("scheduler", "/CN=system:kube-scheduler"),
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
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        path.chmod(0o600)
        return path

    # --- processes ------------------------------------------------------------------------------------

    def _binary(self, name: str) -> str:
        located = tools.locate(name, allow_system=False)
        if located is None:
            raise ClusterError(f"{name} is not built: run `make tools TIERS=cluster` (builds into {tools.home()})")
        return str(located.path)

    def _start(self, name: str, args: list[str]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        # A session of its own: the process outlives `make cluster-up` and is stopped by `down` by its PID.
        process = subprocess.Popen([self._binary(name), *args], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.directory)
        self.pids[name] = process.pid
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
            if not _alive(self.pids[name]):
                raise ClusterError(f"{name} exited while starting; the last lines of {self.logs / name}.log:\n"
                                   f"{self._tail(name)}")
            if ready():
                return
            time.sleep(0.2)
        raise ClusterError(f"{name} was not ready after {timeout:.0f}s; the last lines of its log:\n{self._tail(name)}")

    def _get(self, url: str, client: bool = True) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt")) if url.startswith("https") else None
        if context is not None and client:
            context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 (loopback)
                return response.status == 200
        except OSError:
            return False

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self._binary("kubectl"), f"--kubeconfig={self.kubeconfig}", *args], input=stdin,
                                capture_output=True, text=True, timeout=120, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def up(self) -> float:
        """Start everything, wait until it serves; returns the seconds it took."""
        started = time.monotonic()
        if self.state_file.exists() and self.running():
            raise ClusterError(f"a cluster is already running from {self.directory}: `make cluster-down` first")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in ("etcd", "etcd-peer", "etcd-metrics", "apiserver",
                                                     "controller-manager", "scheduler", "kwok")}
        try:
            self._certificates()
            self._kubeconfig("admin", self.kubeconfig)
            for user in ("controller-manager", "scheduler", "kwok"):
                self._kubeconfig(user, self.pki / f"{user}.kubeconfig")
            self._start_all()
            self._add_nodes()
        except BaseException:
            self.stop()
            raise
        self._write_env()
        return time.monotonic() - started

    def _start_all(self) -> None:
        pki, ports = self.pki, self.ports
        etcd = f"http://127.0.0.1:{ports['etcd']}"
        self._start("etcd", [
            "--name=faasplane", f"--data-dir={self.directory / 'etcd'}", f"--listen-client-urls={etcd}",
            f"--advertise-client-urls={etcd}", f"--listen-peer-urls=http://127.0.0.1:{ports['etcd-peer']}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{ports['etcd-peer']}",
            f"--initial-cluster=faasplane=http://127.0.0.1:{ports['etcd-peer']}",
            f"--listen-metrics-urls=http://127.0.0.1:{ports['etcd-metrics']}", "--log-level=warn",
        ])
        self._wait("etcd", lambda: self._get(f"{etcd}/health"))
        self._start("kube-apiserver", [
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={ports['apiserver']}",
            f"--etcd-servers={etcd}", f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}", f"--client-ca-file={pki / 'ca.crt'}",
            f"--requestheader-client-ca-file={pki / 'ca.crt'}", "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
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
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            "--use-service-account-credentials=true", "--controllers=*", f"--service-cluster-ip-range={SERVICE_CIDR}",
        ])
        scheduler = self.pki / "scheduler.kubeconfig"
        self._start("kube-scheduler", [
            *common, f"--secure-port={ports['scheduler']}", f"--kubeconfig={scheduler}",
            f"--authentication-kubeconfig={scheduler}", f"--authorization-kubeconfig={scheduler}",
        ])
        [kwok] = [tool for tool in load_pins() if tool.name == "kwok"]
        stages = [built_binary(kwok, f"stages/{stage}") for stage in STAGES]
        if None in stages:
            raise ClusterError("kwok's stages are not built: run `make tools TIERS=cluster`")
        self._start("kwok", [
            f"--kubeconfig={self.pki / 'kwok.kubeconfig'}", "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake", "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{ports['kwok']}", *(f"--config={stage}" for stage in stages),
        ])
        self._wait("kube-controller-manager",
                   lambda: self._get(f"https://127.0.0.1:{ports['controller-manager']}/healthz", client=False)
                   or self._port_open(ports["controller-manager"]))
        self._wait("kube-scheduler", lambda: self._port_open(ports["scheduler"]))

    @staticmethod
    def _port_open(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

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
                                                check=False).returncode == 0)

    def _save(self) -> None:
        self.state_file.write_text(json.dumps({"ports": self.ports, "pids": self.pids, "nodes": self.nodes}))

    def _write_env(self) -> None:
        lines = [f"# The loopback cluster in {self.directory}: . {self.directory / 'env'}",
                 f"export KUBECONFIG={shlex.quote(str(self.kubeconfig))}"]
        lines += [f"export FAASPLANE_CLUSTER_PID_{name.upper().replace('-', '_')}={pid}"
                  for name, pid in self.pids.items()]
        (self.directory / "env").write_text("\n".join(lines) + "\n")

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> Cluster:
        state = json.loads((directory / "state.json").read_text())
        return cls(directory, state["nodes"], state["ports"], state["pids"])

    def running(self) -> bool:
        saved = json.loads(self.state_file.read_text()).get("pids", {})
        return any(_alive(pid) for pid in saved.values())

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every process by its PID (SIGTERM, then SIGKILL), components in reverse order."""
        for name in reversed(COMPONENTS):
            pid = self.pids.get(name)
            if pid is None or not _alive(pid):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def down(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of this process that exited is a zombie until reaped: not alive.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state directory (default build/cluster)")
    parser.add_argument("--nodes", type=int, default=1, help="kwok nodes")
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    if args.command == "down":
        if not (directory / "state.json").exists():
            print(f"no cluster in {directory}")
            return 0
        Cluster.load(directory).down()
        print(f"stopped the cluster and removed {directory}")
        return 0
    cluster = Cluster(directory, args.nodes)
    try:
        seconds = cluster.up()
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"cluster up in {seconds:.1f}s: Kubernetes at {cluster.server}, {cluster.nodes} kwok node(s)")
    print(f"  . {directory / 'env'}   # KUBECONFIG={cluster.kubeconfig}")
    print("  make engine STACK=dev CLUSTER=1   # the real pulumi up against it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
