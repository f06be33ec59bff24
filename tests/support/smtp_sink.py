#!/usr/bin/env python3
"""A real SMTP server for the tests (Debian's python3-aiosmtpd): every message it accepts is written to
<dir>/<n>.eml (the raw message, envelope sender and recipients in X-Sink-* lines first) for the tests to read.
A recipient whose local part starts with "refuse" is refused (550), "tempfail" gets 451, and "drop" has its
connection closed mid-dialogue: how the tests make delivery fail on purpose.
Usage: smtp_sink.py --port N --dir DIR"""
import argparse
import asyncio
import os
import signal

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("refuse"):
            return "550 5.1.1 mailbox refused by the test sink"
        if local.startswith("tempfail"):
            return "451 4.3.0 temporary failure at the test sink"
        if local.startswith("drop"):
            session.transport.close()
            return "421 4.4.2 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = os.path.join(self.dir, "%d-%d.eml" % (os.getpid(), self.n))
        tmp = name + ".tmp"
        with open(tmp, "wb") as f:
            f.write(("X-Sink-From: %s\r\n" % envelope.mail_from).encode())
            for r in envelope.rcpt_tos:
                f.write(("X-Sink-To: %s\r\n" % r).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, name)   # a reader never sees half a message
        return "250 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    c = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port)
    c.start()
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(True))
    loop.run_until_complete(stop)
    c.stop()


if __name__ == "__main__":
    main()
