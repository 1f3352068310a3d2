"""moto's server on loopback, for the local stack and the tests.

Prints `ready <port>` once it listens, then serves until its standard input closes (the parent
that started it has exited, however it exited) or it is interrupted. So a crashed test run or
dev server never leaves a moto process behind.

Requests are served by many threads but applied one at a time. moto does not isolate
concurrent requests: a DynamoDB transaction that fails rolls back by restoring a copy of the
whole table taken when it started, erasing what other requests wrote meanwhile. DynamoDB
applies each request atomically; one lock around moto gives the same guarantee, so races
between our requests (the ones our code must survive) are real and moto's own are gone.
"""

import argparse
import signal
import sys
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # Consume the response inside the lock: moto builds it while handling.
            return list(app(environ, start_response))

    return handle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    app = serialised(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {server.server_port}", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()  # returns at end-of-file: the parent is gone
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
