"""The SSH baseline: plain fabric ``ThreadingGroup`` running one command on N hosts.

What a user writes instead of a runbook step: one connection per host (same client
key, same ``known_hosts``, unknown host keys refused), every host at once.

    python bench/fabric_fanout.py HOSTS.json "true; uname -a"

HOSTS.json: ``{"known_hosts": PATH, "hosts": [{"address", "port", "user", "key_file"}]}``.
"""

from __future__ import annotations

import json
import sys

import paramiko
from fabric import Connection, ThreadingGroup


def main() -> int:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    connections = []
    for host in spec["hosts"]:
        conn = Connection(
            host["address"],
            port=host["port"],
            user=host["user"],
            connect_kwargs={
                "key_filename": host["key_file"],
                "look_for_keys": False,
                "allow_agent": False,
            },
        )
        conn.client.load_host_keys(spec["known_hosts"])
        conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        connections.append(conn)
    group = ThreadingGroup.from_connections(connections)
    results = group.run(sys.argv[2], hide=True)
    group.close()
    return 0 if all(r.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
