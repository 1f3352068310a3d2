"""moto's server on loopback, for the local stack and the tests.

Prints `ready <port>` once it listens, then serves until its standard input closes (the parent
that started it has exited, however it exited) or it is interrupted. So a crashed test run or
dev server never leaves a moto process behind.
"""

import argparse
import signal
import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"ready {port}", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()  # returns at EOF: the parent is gone
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
