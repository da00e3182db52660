#!/usr/bin/env python3
"""A tiny SMTP sink for the email tests, built on aiosmtpd.

Listens on 127.0.0.1:PORT and appends one JSON line to OUT per event:

  {"event": "auth", "mechanism": "PLAIN", "login": "...", "success": true}
  {"event": "message", "mail_from": "...", "rcpt_tos": [...], "subject": "...",
   "content_type": "multipart/alternative", "headers": {...},
   "parts": [{"content_type": "text/plain", "content": "..."}, ...]}

Each line is written before the server answers, so it is on disk when the client's send
returns. With --username and --password, AUTH is required and checked (over plain TCP:
loopback only).

    python3 smtp_sink.py --port 2525 --out /tmp/mail.jsonl [--username U --password P]
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def append(path, record):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = [
            {"content_type": part.get_content_type(), "content": part.get_content()}
            for part in msg.walk()
            if not part.is_multipart()
        ]
        append(
            self.out,
            {
                "event": "message",
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "subject": str(msg["subject"]),
                "content_type": msg.get_content_type(),
                "headers": {k: str(v) for k, v in msg.items()},
                "parts": parts,
            },
        )
        return "250 OK"


class Authenticator:
    def __init__(self, out, username, password):
        self.out = out
        self.username = username.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username
            and auth_data.password == self.password
        )
        login = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else None
        append(self.out, {"event": "auth", "mechanism": mechanism, "login": login, "success": ok})
        return AuthResult(success=ok, handled=False)


async def serve(args):
    loop = asyncio.get_running_loop()
    authenticator = None
    if args.username is not None:
        authenticator = Authenticator(args.out, args.username, args.password or "")
    handler = Sink(args.out)

    def factory():
        return SMTP(
            handler,
            hostname="smtp-sink.test",
            authenticator=authenticator,
            auth_required=authenticator is not None,
            # Plain AUTH without TLS: acceptable only because the sink listens on loopback.
            auth_require_tls=False,
            loop=loop,
        )

    server = await loop.create_server(factory, host="127.0.0.1", port=args.port)
    async with server:
        await server.serve_forever()


def main():
    # aiosmtpd warns (rightly) about AUTH without TLS and about its own legacy attributes; on a
    # loopback sink that is noise in the test output. Errors still reach stderr.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
