"""The embedded AWS emulator: moto's server on loopback (S3, SQS, DynamoDB, SES, SNS, STS)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main(argv: list[str] | None = None) -> int:
    """Serve moto on host:port until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    # One access-log line per AWS call drowns the stack's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    print(f"moto emulator serving on http://{args.host}:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
