"""Hosts on one machine: a network namespace per node, joined to a bridge in
the root namespace by a veth pair. The root namespace plays the network's
shared services (PostgreSQL, Redis, HAProxy) on the bridge address, and the
chargers on addresses of a second subnet on the same bridge, so that the
nodes see HAProxy as the peer and the chargers only in X-Forwarded-For.

Every name starts with PREFIX: what a killed run left behind is found and
removed before the next one builds anything."""

import subprocess
from dataclasses import dataclass

PREFIX = "ocppcl"
BRIDGE = f"{PREFIX}-br"
SUBNET = "10.231.0"  # the hosts' network, /24
BRIDGE_ADDRESS = f"{SUBNET}.1"
CHARGER_SUBNET = "10.231.1"  # where the chargers connect from, /24
CHARGER_ADDRESSES = [f"{CHARGER_SUBNET}.{i}" for i in range(1, 9)]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


@dataclass(frozen=True)
class Host:
    number: int

    @property
    def namespace(self) -> str:
        return f"{PREFIX}-n{self.number}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{10 + self.number}"

    @property
    def veth(self) -> str:
        return f"{PREFIX}-v{self.number}"

    def command(self, *argv: str) -> list[str]:
        """argv run inside this host's namespace (`ip netns exec` execs it:
        the process id is the program's own)."""
        return ["ip", "netns", "exec", self.namespace, *argv]


def netns_available() -> bool:
    """Whether this machine lets us make a network namespace (root, iproute2)."""
    probe = f"{PREFIX}-probe"
    try:
        made = ip("netns", "add", probe, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    if made:
        ip("netns", "del", probe, check=False)
    return made


def remove_all() -> None:
    """Remove every namespace, link and process a run (this one or a killed
    earlier one) made: processes in the namespaces first, then the
    namespaces (their veth ends go with them), then the bridge."""
    listed = ip("netns", "list", check=False).stdout.split("\n")
    for name in [line.split()[0] for line in listed if line.strip()]:
        if not name.startswith(PREFIX):
            continue
        pids = ip("netns", "pids", name, check=False).stdout.split()
        if pids:
            subprocess.run(["kill", "-9", *pids], capture_output=True, timeout=10)
        ip("netns", "del", name, check=False)
    links = ip("-o", "link", "show", check=False).stdout.split("\n")
    for line in links:
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(PREFIX):
                ip("link", "del", name, check=False)


def build(hosts: list[Host]) -> None:
    """The bridge with the services' and the chargers' addresses, and one
    namespace per host with its address on the bridge."""
    remove_all()
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
    for address in CHARGER_ADDRESSES:
        ip("addr", "add", f"{address}/24", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    for host in hosts:
        ip("netns", "add", host.namespace)
        ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        ip("link", "set", host.veth, "master", BRIDGE)
        ip("link", "set", host.veth, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
