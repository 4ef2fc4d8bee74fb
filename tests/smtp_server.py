#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A real SMTP server on 127.0.0.1 for the mailer's tests (test-mailer.c):
Debian's aiosmtpd, optionally with STARTTLS or implicit TLS and AUTH, and
misbehaviours on demand (4xx or 5xx after DATA, or no answer at all; a
recipient refused at RCPT the first N times, as greylisting does).

Every DATA it sees is one JSON line in --mailbox, flushed at once:
{"status": "accepted" | "451" | "550" | "hang", "mail_from", "rcpt_tos",
 "tls", "auth" ("user/MECHANISM"), "subject", "message_id", "in_reply_to", "references",
 "body"}, the subject and body decoded by Python's email package, so that
the test checks the mailer's encoding against an independent decoder.
Every RCPT it refuses (--refuse-rcpt) is one line too: {"status": "rcpt-CODE",
"mail_from", "rcpt"}. Passwords are never written anywhere.

Writes its port to --ready once it listens. Exits on SIGTERM, and by
itself when its parent (the test) is gone."""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def auth_user(session):
    """"user/MECHANISM" of the session's successful AUTH, or None."""
    data = getattr(session, "auth_data", None)
    return data.get("who") if isinstance(data, dict) else None


class Handler:
    def __init__(self, args):
        self.args = args
        self.datas = 0
        self.lock = threading.Lock()
        # address (lower case) -> [refusals left, code]
        self.refusals = {a.lower(): [int(n), int(code)]
                         for a, n, code in (args.refuse_rcpt or [])}
        # [refusals of MAIL FROM left, code]
        self.sender_refusals = [int(x) for x in (args.refuse_mail_from or (0, 0))]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            refuse = self.sender_refusals[0] > 0
            if refuse:
                self.sender_refusals[0] -= 1
        if refuse:
            code = self.sender_refusals[1]
            self.append({"status": f"mail-{code}", "mail_from": address})
            return f"{code} 5.7.1 <{address}>: sender refused for the test"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def append(self, entry):
        with open(self.args.mailbox, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            rule = self.refusals.get(address.lower())
            refuse = rule is not None and rule[0] > 0
            if refuse:
                rule[0] -= 1
        if refuse:
            code = rule[1]
            self.append({"status": f"rcpt-{code}", "mail_from": envelope.mail_from,
                         "rcpt": address})
            if code < 500:
                return f"{code} 4.2.0 <{address}>: greylisted, try again later"
            return f"{code} 5.1.1 <{address}>: refused for the test"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    def record(self, status, server, session, envelope):
        # STARTTLS sets session.ssl; implicit TLS (smtps) shows on the transport.
        tls = (session.ssl is not None
               or server.transport.get_extra_info("sslcontext") is not None)
        entry = {
            "status": status,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": tls,
            "auth": auth_user(session),
        }
        try:
            msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
            entry["subject"] = str(msg["Subject"])
            entry["message_id"] = str(msg["Message-ID"])
            entry["in_reply_to"] = str(msg["In-Reply-To"]) if msg["In-Reply-To"] else None
            entry["references"] = str(msg["References"]) if msg["References"] else None
            entry["body"] = msg.get_content()
        except Exception as e:  # a malformed message is a finding, not a crash
            entry["parse_error"] = repr(e)
        self.append(entry)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.datas += 1
            n = self.datas
        if n <= self.args.hang_first:
            self.record("hang", server, session, envelope)
            await asyncio.sleep(3600)  # cancelled when the client hangs up
            return "451 4.3.0 too late"
        if n <= self.args.hang_first + self.args.fail_first:
            self.record("451", server, session, envelope)
            return "451 4.3.0 try again later"
        if n <= self.args.hang_first + self.args.fail_first + self.args.reject_first:
            self.record("550", server, session, envelope)
            return "550 5.7.1 refused for the test"
        self.record("accepted", server, session, envelope)
        return "250 2.0.0 OK"


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        if not ok:
            return AuthResult(success=False, handled=False)  # 535
        return AuthResult(success=True,
                          auth_data={"who": f"{auth_data.login.decode()}/{mechanism}"})
    return authenticator


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--user")
    p.add_argument("--password-file")
    p.add_argument("--auth-mechanism", choices=["PLAIN", "LOGIN"])
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--reject-first", type=int, default=0)
    p.add_argument("--hang-first", type=int, default=0)
    p.add_argument("--refuse-rcpt", nargs=3, action="append",
                   metavar=("ADDRESS", "TIMES", "CODE"),
                   help="answer CODE (e.g. 450, 452, 550) to RCPT TO:<ADDRESS> "
                        "the first TIMES times")
    p.add_argument("--refuse-mail-from", nargs=2, metavar=("TIMES", "CODE"),
                   help="answer CODE (e.g. 550, 530) to MAIL FROM the first TIMES times")
    args = p.parse_args()

    kwargs = {}
    tls = None
    if args.starttls or args.smtps:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*(args.starttls or args.smtps))
    if args.starttls:
        kwargs.update(tls_context=tls, require_starttls=True)
    if args.smtps:
        kwargs.update(ssl_context=tls, server_hostname="localhost")
    if args.user:
        with open(args.password_file, encoding="utf-8") as f:
            password = f.read().rstrip("\n")
        # aiosmtpd counts only STARTTLS as TLS for AUTH; smtps is TLS throughout.
        kwargs.update(authenticator=make_authenticator(args.user, password),
                      auth_required=True, auth_require_tls=bool(args.starttls))
        if args.auth_mechanism:
            others = {"PLAIN", "LOGIN"} - {args.auth_mechanism}
            kwargs.update(auth_exclude_mechanism=others)

    controller = Controller(Handler(args), hostname="127.0.0.1", port=args.port, **kwargs)
    controller.start()
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{args.port}\n")
    os.rename(tmp, args.ready)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    try:
        while not stop.wait(0.2):
            if os.getppid() != parent:
                break  # the test is gone: do not linger
    finally:
        # A handler may hang on purpose (--hang-first): never wait long for it.
        t = threading.Thread(target=controller.stop, daemon=True)
        t.start()
        t.join(2)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
