"""Run `streamlit` with every outside connection it attempts written down.

`python -m tests.watch_network LOG streamlit-args...` installs a Python audit hook before
Streamlit starts: each socket connection, name lookup or UDP send to a host other than this
machine's loopback is appended to LOG, one per line. The tests start the app this way and
read LOG afterwards: the app must work offline, so LOG must stay empty.
"""

from __future__ import annotations

import ipaddress
import sys

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_local(host: object) -> bool:
    if host is None or isinstance(host, bytes | bytearray):
        host = (host or b"").decode() if isinstance(host, bytes | bytearray) else ""
    text = str(host).strip("[]").lower()
    if text in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False  # a name that is not loopback: looking it up is already an outside request
    return address.is_loopback or address.is_unspecified


def main() -> None:
    log_path, args = sys.argv[1], sys.argv[2:]

    def hook(event: str, event_args: tuple) -> None:
        if event in ("socket.connect", "socket.sendto"):
            address = event_args[1]
            host = address[0] if isinstance(address, tuple) else None  # a str is a unix socket
        elif event == "socket.getaddrinfo":
            host = event_args[0]
        else:
            return
        if host is not None and not is_local(host):
            with open(log_path, "a") as log:
                log.write(f"{event} {host}\n")

    sys.addaudithook(hook)
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *args]
    streamlit_main()


if __name__ == "__main__":
    main()
