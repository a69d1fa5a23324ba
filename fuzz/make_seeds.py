#!/usr/bin/env python3
"""Writes the seed corpus for each fuzz target into corpus/<target>/, each file named by the
SHA-256 of its content, and corpus/regressions/<target>/.keep. Rerunning regenerates the same
files (nothing here is random). Seeds come from the RFC examples (1939, 2449, 2595, 5034, 4616,
2195, 7628, 7677, 6856), the shipped scenarios (mockserver/scenarios/*.toml), the default
maildrop's session and, as the main source, the conformance transcripts
(conformance/transcripts/**/*.pop3, issue 5): each file and each case is a `transcript` seed, and
the dialogue lines of each case become `reply`, `client_session`, `server_session` and `command`
seeds (see seeds_from_transcripts).

The leading bytes of each seed are the target's mode bytes, as documented at the top of each
fuzz/fuzz_<target>.cpp."""
import base64
import glob
import hashlib
import hmac
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "corpus"))
SCENARIOS = os.path.normpath(os.path.join(HERE, "..", "mockserver", "scenarios"))
TRANSCRIPTS = os.path.normpath(os.path.join(HERE, "..", "conformance", "transcripts"))

TARGETS = ["reply", "dot_codec", "command", "capa", "listings", "apop", "sasl", "scenario",
           "client_session", "server_session", "transcript"]

CRLF = b"\r\n"

# ---- RFC material ----------------------------------------------------------------------------

RFC1939_REPLIES = [
    b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
    b"+OK 2 320\r\n",
    b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
    b"+OK 120 octets\r\n<the POP3 server sends message 1>\r\n.\r\n",
    b"+OK\r\n.\r\n",
    b"-ERR no such message\r\n",
    b"-ERR [IN-USE] Do you have another POP session running?\r\n",
    b"-ERR [SYS/TEMP] try later\r\n",
    b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    b"+OK unique-id listing follows\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
    b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\n"
    b"LOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n",
    b"+OK\r\n..stuffed\r\n...\r\n.\r\n",
    b"+OK bare\n.\n",
]

MORE_REPLIES = [
    b"+OK Begin TLS negotiation\r\n",  # RFC 2595 STLS
    b"-ERR [LOGIN-DELAY] wait 900 seconds\r\n",
    b"-ERR [AUTH] invalid credentials\r\n",
    b"-ERR [SYS/PERM] mailbox gone\r\n",
    b"-ERR [UTF8] need UTF8 mode\r\n",  # RFC 6856
    b"+OK language listing follows\r\nen English\r\nfr Francais\r\n.\r\n",
    b"+ \r\n",
    b"+\r\n",
    b"+OK 1 messages\r\n1 999999999999999999999\r\n.\r\n",
    b"+OK\r\n\r\n.\r\n",
    b"-ERR\r\n",
    b"+OK \x00nul\r\n",
    b"+OK" + b"x" * 600 + b"\r\n",
]

BODIES = [
    b"From: a\r\n\r\nbody\r\n.\r\n",
    b".\r\n",
    b"..x\r\n...\r\n.\r\n",
    b"a\nb\rc\r\n.\n",
    b"line\r\n.\r\nafter terminator\r\n",
]

COMMAND_LINES = [
    b"USER mrose", b"PASS secret", b"PASS tanstaaf with spaces", b"PASS ",
    b"APOP mrose c4c9334bac560ecc979e58001b3e22fb", b"STAT", b"LIST", b"LIST 2", b"RETR 1",
    b"DELE 1", b"NOOP", b"RSET", b"QUIT", b"TOP 1 10", b"TOP 1 0", b"UIDL", b"UIDL 2", b"CAPA",
    b"STLS", b"AUTH", b"AUTH PLAIN", b"AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", b"AUTH CRAM-MD5",
    b"AUTH SCRAM-SHA-256 =", b"UTF8", b"LANG", b"LANG fr", b"LANG *", b"RPOP mrose",
    b"user mrose", b"list 18446744073709551615", b"LIST 18446744073709551616", b"LIST 0",
    b"TOP 1 x", b"LIST  1", b"LIST 1 ", b"XTND XMIT", b"", b"US", b"USER a\rb", b"RETR 1\x00",
]

CAPA_LINES = [b"TOP", b"USER", b"SASL CRAM-MD5 KERBEROS_V4", b"RESP-CODES", b"LOGIN-DELAY 900",
              b"PIPELINING", b"EXPIRE 60", b"UIDL", b"IMPLEMENTATION Shlemazle-Plotz-v302",
              b"STLS", b"UTF8 USER", b"LANG", b"AUTH-RESP-CODE",
              b"SASL PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-256"]

# ---- SASL and APOP values of the mock server (session_context::timestamp_seed = "1.1") ----------

TIMESTAMP = b"<1.1@pop3kit.test>"
CRAM_CHALLENGE = b"<1.1.cram@pop3kit.test>"


def b64(data):
    return base64.b64encode(data)


def apop_digest(secret):
    return hashlib.md5(TIMESTAMP + secret).hexdigest().encode()


def cram_response(user, secret):
    return user + b" " + hmac.new(secret, CRAM_CHALLENGE, hashlib.md5).hexdigest().encode()


def scram_exchange(user, password, cnonce=b"fyko+d2lbbFgONRv9qkxdawL"):
    """Client-first and client-final for the mock server's SCRAM-SHA-256 (see session.cpp)."""
    snonce = b64(hashlib.sha256(b"nonce:1.1").digest())[:24]
    salt = hashlib.sha256(b"pop3kit-salt:" + user).digest()[:16]
    first_bare = b"n=" + user + b",r=" + cnonce
    server_first = b"r=" + cnonce + snonce + b",s=" + b64(salt) + b",i=4096"
    without_proof = b"c=biws,r=" + cnonce + snonce
    auth_message = first_bare + b"," + server_first + b"," + without_proof
    salted = hashlib.pbkdf2_hmac("sha256", password, salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    signature = hmac.new(stored, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    return b"n,," + first_bare, without_proof + b",p=" + b64(proof)


XOAUTH2 = b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
OAUTHBEARER = (b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
               b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01")

# ---- the writer -------------------------------------------------------------------------------


def write(target, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha256(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def seeds_reply():
    for reply in RFC1939_REPLIES + MORE_REPLIES:
        for mode in (0, 1, 2, 5):  # shape single/multi/sasl, and multi-line lenient
            write("reply", bytes([mode, len(reply) // 2 % 256]) + reply)


def seeds_dot_codec():
    for body in BODIES:
        for mode in (0x03, 0x81, 0x40):
            write("dot_codec", bytes([mode]) + body)


def seeds_command():
    for line in COMMAND_LINES:
        write("command", b"\x00" + line)
    write("command", b"\x41" + b"PASS " + b"p" * 40)  # over a small limit
    write("command", b"\x00" + b"PASS " + b"p" * 260)  # over the RFC limit
    for parts in ([b"USER", b"mrose"], [b"PASS", b"a b"], [b"RETR", b"1"], [b"TOP", b"1", b"10"],
                  [b"LIST", b"1", b"2"], [b"USER", b"a\r\nDELE 1"], [b"AUTH", b""],
                  [b"NOOP"], [b"X Y"], [b"PASS", b""], [b"APOP", b"mrose", b"digest"]):
        write("command", b"\x80" + b"\x1f".join(parts))
        write("command", b"\xc2" + b"\x1f".join(parts))


def seeds_capa():
    body = CRLF.join(CAPA_LINES)
    write("capa", b"\x00" + body + CRLF)
    write("capa", b"\x01" + b"\n".join(CAPA_LINES))
    write("capa", b"\x02" + body + b"\r\n.\r\n" + body)
    write("capa", b"\x00" + b"TOP\r\ntop a  b\r\n SASL\r\n\r\nUIDL\x00\r\nSASL  PLAIN \r\n")


def seeds_listings():
    for text in (b"2 320", b"0 0", b"2 320 extra", b"2", b"18446744073709551615 1",
                 b"18446744073709551616 1", b"-1 2", b"2  320"):
        write("listings", b"\x00" + text)
    for text in (b"1 120", b"2 200", b"0 10", b"1 120 octets", b"01 1"):
        write("listings", b"\x01" + text)
    for text in (b"1 whqtswO00WBw418f9t5JxYwZ", b"2 QhdPYR:00WBw1Ph7x7", b"1 " + b"u" * 71,
                 b"1 uid with spaces", b"0 x", b"1 \x7f"):
        write("listings", b"\x02" + text)
        write("listings", b"\x26" + text)  # uid limit 5
    write("listings", b"\x03" + b"1 120\r\n2 200\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 320\r\n")


def seeds_apop():
    for line in (b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
                 b"+OK <a> <b>", b"+OK<x@y> <z@w>", b"+OK no timestamp", b"+OK <unclosed",
                 b"+OK x\n<after@lf>", b"+ok <lower@case>", b"+OK " + b"<" * 100,
                 b"+OK <<<>>>", b"+OK pop3kit mock server ready <1.1@pop3kit.test>"):
        write("apop", b"\x00" + line)
        write("apop", b"\x02" + line)
    write("apop", b"\x01<")
    write("apop", b"\x01<>x")
    write("apop", b"\x00<1896.697170952@dbc.mtview.ca.us>")
    write("apop", b"\x02<1896.697170952@dbc.mtview.ca.us>tanstaaf")


def seeds_sasl():
    for line in (b"dGVzdAB0ZXN0AHRlc3Q=", b"*", b"=", b"", b"dGVzdA", b"dGVzdA==\r\n", b"ab=c",
                 b"AHVzZXIAcGFzcw==", b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"):
        write("sasl", b"\x00" + line)
        write("sasl", b"\x01" + line)
    for msg in (b"\x00tim\x00tanstaaftanstaaf", b"Ursel\x00Kurt\x00xipj3plmq",  # RFC 4616
                b"\x00\x00x", b"a\x00b", b"a\x00b\x00c\x00d", b"\x00user\x00"):
        write("sasl", b"\x02" + msg)
        write("sasl", b"\x08" + b64(msg))
    for msg in (b"tim b913a602c7eda7a495b4e6e7334d3890",  # RFC 2195
                b"user with space 0123456789abcdef0123456789abcdef",
                b"tim B913A602C7EDA7A495B4E6E7334D3890", b" 0123456789abcdef0123456789abcdef"):
        write("sasl", b"\x03" + msg)
    for msg in (XOAUTH2, b"user=a\x01auth=Bearer x\x01\x01", b"user=a\x01\x01",
                b"auth=Bearer t\x01user=u\x01user=v\x01\x01", b"user=a\x01auth=Basic x\x01\x01"):
        write("sasl", b"\x04" + msg)
        write("sasl", b"\x08" + b64(msg))
    for msg in (OAUTHBEARER, b"n,,\x01auth=Bearer x\x01\x01", b"y,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01",
                b"p=tls-unique,,\x01auth=Bearer x\x01\x01", b"n,,\x01port=65536\x01auth=Bearer x\x01\x01",
                b"n,a=,\x01auth=Bearer x\x01\x01"):
        write("sasl", b"\x05" + msg)
        write("sasl", b"\x08" + b64(msg))
    # RFC 7677 example.
    first = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    final = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
             b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    write("sasl", b"\x06" + first + b"\x00" + final)
    write("sasl", b"\x06" + b"n,a=user,n=user,r=abc")
    write("sasl", b"\x06" + b"y,,n=user,r=abc")
    write("sasl", b"\x06" + b"n,,n=us=2Cer,r=abc\x00c=biws,r=abcsrvnonce,p=AAAA")
    write("sasl", b"\x08" + b64(first))
    for mode in (0x07, 0x17, 0x87):
        write("sasl", bytes([mode]) + b"user\x00rOprNGfwEbeRWgbNEkqO")
        write("sasl", bytes([mode]) + b"us,er=\x00nonce")
    write("sasl", b"\x07" + b"user\x00bad,nonce")


def seeds_scenario():
    for path in sorted(glob.glob(os.path.join(SCENARIOS, "*.toml"))):
        with open(path, "rb") as f:
            text = f.read()
        for mode in (0x00, 0x02, 0x06):
            write("scenario", bytes([mode]) + text)
    for text in (b"", b"name = \"x\"\n", b"[[rule]]\ncommand = \"STAT\"\noctet_delta = -1000\n",
                 b"[[rule]]\ncommand = \"RETR\"\nhuge_line = 100\nbare_lf = true\n",
                 b"[[user]]\nname = \"a\"\npassword = \"b\"\ngenerate = \"3:1000\"\n",
                 b"[server]\ngreeting = \"hi\"\n[server.capabilities]\nauthorization = [\"USER\"]\n",
                 b"[session]\ndisconnect = \"after\"\nhang = true\n", b"[=]\n", b"a = \xc3\xa9\n"):
        write("scenario", b"\x02" + text)


# Request kinds of fuzz_client_session.cpp's make_request.
K = {"greeting": 0, "USER": 1, "PASS": 2, "STAT": 3, "LIST": 4, "LIST 1": 5, "UIDL": 6,
     "UIDL 2": 7, "RETR": 8, "RETR sink": 9, "TOP": 10, "CAPA": 11, "STLS": 12,
     "AUTH PLAIN": 13, "AUTH PLAIN ir": 14, "sasl": 15, "*": 16, "NOOP": 17, "DELE": 18,
     "RSET": 19, "QUIT": 20, "APOP": 21, "AUTH": 22, "UTF8": 23, "LANG": 24, "empty": 25}

GREETING = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
R = {
    "greeting": GREETING, "USER": b"+OK mrose is a real hoopy frood\r\n",
    "PASS": b"+OK mrose's maildrop has 2 messages (320 octets)\r\n", "STAT": b"+OK 2 320\r\n",
    "LIST": b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n", "LIST 1": b"+OK 1 120\r\n",
    "UIDL": b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
    "UIDL 2": b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n",
    "RETR": b"+OK 120 octets\r\nFrom: a\r\n\r\n..dot\r\nbody\r\n.\r\n",
    "RETR sink": b"+OK 120 octets\r\nFrom: a\r\n\r\n..dot\r\nbody\r\n.\r\n",
    "TOP": b"+OK\r\nFrom: a\r\n\r\n.\r\n", "CAPA": RFC1939_REPLIES[10],
    "STLS": b"+OK Begin TLS negotiation\r\n", "AUTH PLAIN": b"+ \r\n",
    "AUTH PLAIN ir": b"+OK maildrop locked and ready\r\n", "sasl": b"+OK logged in\r\n",
    "*": b"-ERR AUTH cancelled\r\n", "NOOP": b"+OK\r\n", "DELE": b"+OK message 1 deleted\r\n",
    "RSET": b"+OK maildrop has 2 messages (320 octets)\r\n", "QUIT": b"+OK dewey POP3 server signing off\r\n",
    "APOP": b"+OK maildrop has 1 message (369 octets)\r\n",
    "AUTH": b"+OK\r\nPLAIN\r\nSCRAM-SHA-256\r\n.\r\n", "UTF8": b"+OK UTF8 enabled\r\n",
    "LANG": b"+OK language listing follows\r\nen English\r\n.\r\n", "empty": b"+OK\r\n",
}


def client_seed(window, flags, chunk, inject, kinds, server):
    header = bytes([(window - 1) | flags, len(kinds) - 1, chunk, inject])
    write("client_session", header + bytes(K[k] for k in kinds) + server)


def seeds_client_session():
    dialogue = ["greeting", "USER", "PASS", "STAT", "LIST", "RETR", "DELE", "QUIT"]
    server = b"".join(R[k] for k in dialogue)
    for window, chunk in ((1, 0), (8, 0), (1, 7), (4, 1)):
        client_seed(window, 0, chunk, 0, dialogue, server)
    client_seed(1, 8, 0, 0, dialogue, server.replace(b"\r\n", b"\n"))  # lenient, bare LF
    client_seed(1, 16, 0, 0, dialogue, server)  # small limits
    every = [k for k in K if k not in ("STLS",)][:12]
    client_seed(8, 0, 0, 0, every, b"".join(R[k] for k in every))
    client_seed(8, 0, 3, 0, every, b"".join(R[k] for k in every) * 2)  # batch runs twice
    # STLS (RFC 2595): the handshake, then the rest inside TLS.
    stls = ["greeting", "CAPA", "STLS", "USER", "PASS", "UIDL"]
    before = R["greeting"] + R["CAPA"] + R["STLS"]
    after = R["USER"] + R["PASS"] + R["UIDL"]
    client_seed(1, 0, len(before) % 256, 0, stls, before + after)
    client_seed(8, 0, 0, 0, stls, before + after)  # injection: all in one read
    client_seed(1, 0, 0, 0, stls, before + b"+OK injected\r\n" + after)
    client_seed(1, 0, 0, 0, stls, R["greeting"] + R["CAPA"] + b"-ERR not now\r\n" + after)
    # SASL (RFC 5034).
    sasl = ["greeting", "AUTH PLAIN", "sasl", "STAT"]
    client_seed(1, 0, 0, 0, sasl, R["greeting"] + b"+ \r\n+OK ok\r\n" + R["STAT"])
    client_seed(2, 0, 0, 0, ["greeting", "AUTH PLAIN", "*"],
                R["greeting"] + b"+ \r\n-ERR cancelled\r\n")
    # Errors: injected at each of the first actions, and a reply cut short.
    for inject in (1, 2, 3, 5):
        client_seed(1, 0, 0, inject, dialogue, server)
    client_seed(1, 0, 0, 0, ["greeting", "RETR"], R["greeting"] + b"+OK\r\nunterminated")
    client_seed(1, 0, 0, 0, ["greeting", "STAT"], R["greeting"] + b"+OK 2 320\r\n-ERR extra\r\n")


DEFAULT_SESSION = (b"CAPA\r\nUSER user\r\nPASS pass\r\nSTAT\r\nLIST\r\nLIST 2\r\nUIDL\r\n"
                   b"UIDL 3\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nTOP 2 1\r\nTOP 1 0\r\nDELE 1\r\n"
                   b"RETR 1\r\nLIST\r\nRSET\r\nNOOP\r\nQUIT\r\n")


def server_seed(mode, chunk, client):
    write("server_session", bytes([mode, chunk]) + client)


def seeds_server_session():
    for mode, chunk in ((0, 0), (0, 1), (0, 5), (1, 0), (8, 0), (0x10, 0), (0x20, 0)):
        server_seed(mode, chunk, DEFAULT_SESSION)
    alice = b"USER alice\r\nPASS wonder land\r\nLIST\r\nUIDL\r\n" + b"".join(
        b"RETR %d\r\nTOP %d 1\r\n" % (i, i) for i in range(1, 6)) + b"QUIT\r\n"
    server_seed(0, 0, alice)
    server_seed(0, 3, alice)
    server_seed(0, 0, b"APOP user " + apop_digest(b"pass") + b"\r\nSTAT\r\nQUIT\r\n")
    server_seed(0, 0, b"APOP alice " + apop_digest(b"wonder land") + b"\r\nRETR 2\r\nQUIT\r\n")
    server_seed(0, 0, b"AUTH\r\nAUTH PLAIN\r\n" + b64(b"\x00user\x00pass") + b"\r\nSTAT\r\n")
    server_seed(0, 0, b"AUTH PLAIN " + b64(b"alice\x00alice\x00wonder land") + b"\r\nLIST\r\n")
    server_seed(0, 0, b"AUTH LOGIN\r\n" + b64(b"user") + b"\r\n" + b64(b"pass") + b"\r\nSTAT\r\n")
    server_seed(0, 0, b"AUTH CRAM-MD5\r\n" + b64(cram_response(b"user", b"pass")) + b"\r\nUIDL\r\n")
    server_seed(0, 0, b"AUTH XOAUTH2 " + b64(b"user=user\x01auth=Bearer pass\x01\x01") + b"\r\nSTAT\r\n")
    server_seed(0, 0, b"AUTH OAUTHBEARER " + b64(b"n,a=user,\x01auth=Bearer pass\x01\x01") +
                b"\r\nSTAT\r\n")
    first, final = scram_exchange(b"user", b"pass")
    server_seed(0, 0, b"AUTH SCRAM-SHA-256\r\n" + b64(first) + b"\r\n" + b64(final) + b"\r\n\r\nSTAT\r\n")
    server_seed(0, 0, b"AUTH PLAIN\r\n*\r\nAUTH PLAIN =\r\nAUTH X\r\nAUTH LOGIN\r\n!!\r\n")
    # STLS (RFC 2595) with plaintext injected behind it (CVE-2021-23840 class), and implicit TLS.
    server_seed(1, 0, b"CAPA\r\nSTLS\r\nUSER user\r\nPASS pass\r\n")
    server_seed(1, 6, b"STLS\r\nCAPA\r\nUSER user\r\nPASS pass\r\nSTAT\r\n")
    server_seed(5, 0, b"STLS\r\nUSER user\r\n")  # failed handshake
    server_seed(3, 0, b"STLS\r\nCAPA\r\n")
    # RFC 6856, framing oddities, errors.
    server_seed(0, 0, b"UTF8\r\nLANG\r\nLANG fr\r\nLANG *\r\nCAPA\r\n")
    server_seed(0, 0, b"user user\nPASS pass\nstat\r\nLIST\rX\r\nRETR 1\x00\r\nNOOP\r\n")
    server_seed(0, 0, b"USER " + b"u" * 300 + b"\r\nNOOP\r\n")
    server_seed(0, 7, b"USER " + b"u" * 300 + b"\r\nNOOP\r\n")
    server_seed(8, 0, b"USER " + b"u" * 50 + b"\r\nNOOP\r\n")
    server_seed(0, 0, b"X\r\n" * 12)
    server_seed(0x20, 0, b"BAD\r\nSTAT\r\nNOOP\r\nUSER user\r\nPASS x\r\n")


# ---- conformance transcripts (docs/transcripts.md) --------------------------------------------

# The credentials of the embedded server and of the client under test.
TRANSCRIPT_USER, TRANSCRIPT_PASS = b"user", b"pass"
ESCAPES = {"r": b"\r", "n": b"\n", "0": b"\0", "t": b"\t"}


def closing_brace(text, start):
    """Index of the '}' closing the '{' at start, skipping backslash escapes (as the C++ code)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 1
        elif text[i] == "}":
            return i
        i += 1
    return -1


def substitute(name):
    """Bytes for {name} in a line the runner sends, or None when a run decides it (captures)."""
    values = {
        "user": TRANSCRIPT_USER, "pass": TRANSCRIPT_PASS,
        "plain": b64(b"\0" + TRANSCRIPT_USER + b"\0" + TRANSCRIPT_PASS),
        "b64user": b64(TRANSCRIPT_USER), "b64pass": b64(TRANSCRIPT_PASS),
        # The mock server's APOP timestamp and CRAM-MD5 challenge (timestamp seed "1.1").
        "apop(ts)": apop_digest(TRANSCRIPT_PASS),
        "cram(ch)": b64(cram_response(TRANSCRIPT_USER, TRANSCRIPT_PASS)),
    }
    if name in values:
        return values[name]
    if name.startswith("b64(") and name.endswith(")"):
        return b64(name[4:-1].encode("latin-1"))
    return None


def resolve(text, pattern):
    """The bytes of a transcript text: escapes resolved, {user}, {pass} and the functions
    computed. None when the line cannot be made concrete: a pattern (pattern=True) with a '*'
    wildcard, a ' || ' alternative or a {name=REGEX} capture, or any other {...}."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            e = text[i + 1]
            if e == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += ESCAPES.get(e, e.encode("latin-1"))
            i += 2
            continue
        if c == "{":
            close = closing_brace(text, i)
            value = substitute(text[i + 1:close]) if close > i else None
            if value is None:
                return None
            out += value
            i = close + 1
            continue
        if pattern and (c == "*" or text.startswith(" || ", i)):
            return None
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


def parse_transcript(text):
    """Splits one .pop3 file into cases: dicts with id, headers, source (the case's own text)
    and steps [(prefix, text)] for C:, C+:, C=:, C*:, S:, S+:, S=:, S*: and !directives."""
    cases = []
    for raw in text.split("\n"):
        raw = raw[:-1] if raw.endswith("\r") else raw
        line = raw.strip(" \t")
        if line.startswith("case:"):
            cases.append({"id": line[5:].strip(), "headers": {}, "steps": [], "source": []})
        if not cases:
            continue
        case = cases[-1]
        case["source"].append(raw)
        if not line or line.startswith("#") or line.startswith("case:"):
            continue
        prefix = next((p for p in ("C*:", "C+:", "C=:", "C:", "S*:", "S+:", "S=:", "S:")
                       if raw.startswith(p)), None)
        if prefix:
            rest = raw[len(prefix):]
            case["steps"].append((prefix, rest[1:] if rest.startswith(" ") else rest))
        elif line.startswith("!"):
            case["steps"].append(("!", line[1:]))
        elif ":" in line and not case["steps"]:
            key, value = line.split(":", 1)
            case["headers"][key.strip()] = value.strip()
    return cases


def request_kinds(lines):
    """fuzz_client_session.cpp request kinds for the client's command lines (a greeting first),
    or None when a line has no kind. At most 12 (the target's batch size)."""
    kinds = [K["greeting"]]
    for line in lines:
        words = line.split(b" ")
        keyword, args = words[0].upper(), len(words) - 1
        sasl = kinds[-1] in (K["AUTH PLAIN"], K["AUTH PLAIN ir"], K["sasl"])
        simple = {b"USER": "USER", b"PASS": "PASS", b"STAT": "STAT", b"RETR": "RETR",
                  b"TOP": "TOP", b"CAPA": "CAPA", b"STLS": "STLS", b"NOOP": "NOOP",
                  b"DELE": "DELE", b"RSET": "RSET", b"QUIT": "QUIT", b"APOP": "APOP",
                  b"UTF8": "UTF8"}
        if keyword in simple:
            kind = simple[keyword]
        elif keyword in (b"LIST", b"UIDL"):
            kind = keyword.decode() + (" 1" if keyword == b"LIST" and args else
                                       " 2" if args else "")
        elif keyword == b"AUTH":
            kind = "AUTH" if args == 0 else "AUTH PLAIN" if args == 1 else "AUTH PLAIN ir"
        elif keyword == b"LANG" and args == 0:
            kind = "LANG"
        elif sasl and line == b"*":
            kind = "*"
        elif sasl:
            kind = "sasl"
        else:
            return None
        kinds.append(K[kind])
    return kinds[:12]


def transcript_seeds(case):
    client_side = case["headers"].get("direction") == "client"
    mine, peer = ("S", "C") if client_side else ("C", "S")
    sent, peer_lines, commands = b"", b"", []
    for prefix, text in case["steps"]:
        if prefix in (mine + ":", mine + "+:", mine + "=:"):
            data = resolve(text, pattern=False)
            if data is None:
                continue
            if prefix != mine + "=:":
                data += CRLF
            sent += data
            if not client_side:
                pieces = (piece.rstrip(b"\r") for piece in data.split(b"\n"))
                commands += [piece for piece in pieces if piece]
        elif prefix == peer + ":":
            data = resolve(text, pattern=True)
            if data is not None:
                peer_lines += data + CRLF
            if client_side:
                # The client's command: its keyword and argument count decide the kind.
                commands.append(text.replace("{user}", "user").replace("{pass}", "pass")
                                .replace("*", "").encode("latin-1"))
    server_bytes = peer_lines if not client_side else sent
    if server_bytes:
        for mode in (0, 1):  # single-line and multi-line shape, strict
            write("reply", bytes([mode, len(server_bytes) // 2 % 256]) + server_bytes)
        kinds = request_kinds(commands)
        # The format fits when every command has a request kind and the bytes start with a
        # reply (the greeting): the +OK* lines of a server-direction case are wildcards.
        if kinds is not None and server_bytes.startswith((b"+OK", b"-ERR")):
            header = bytes([0, len(kinds) - 1, 0, 0])  # window 1, strict, whole reads, no error
            write("client_session", header + bytes(kinds) + server_bytes)
    if not client_side and sent:
        headers = case["headers"]
        uses_stls = any(p == "C:" and t.upper() == "STLS" for p, t in case["steps"])
        requires = [item.strip() for item in headers.get("requires", "").split(",")]
        # Byte 0: implicit TLS (2), STLS available (1) for cases that use or require it.
        mode = 2 if headers.get("tls") == "implicit" else 1 if (
            uses_stls or headers.get("tls") == "plain" or "tls" in requires) else 0
        write("server_session", bytes([mode, 0]) + sent)
        for line in commands:
            write("command", b"\x00" + line)


def seeds_from_transcripts():
    for path in sorted(glob.glob(os.path.join(TRANSCRIPTS, "**", "*.pop3"), recursive=True)):
        with open(path, "rb") as f:
            data = f.read()
        write("transcript", data)
        for case in parse_transcript(data.decode("latin-1")):
            write("transcript", "\n".join(case["source"]).rstrip("\n").encode("latin-1") + b"\n")
            transcript_seeds(case)
    for text in (b"case: a\ntitle: t\nrfc: 1\nS: +OK {n=\\d+} || -ERR*\nC: RETR {n}\nS: .\n",
                 b"case: c\ndirection: client\nclient: stat\ntitle: t\nrfc: 1\nS=: +OK\\r\\n\nC*: *\n!close\n",
                 b"case: x\ntitle: t\nrfc: 1\nC: \\x00\\{\\}\\|\\*{b64(a)}{apop(ts)}{cram(ch)}\n!no-reply 5\n"):
        write("transcript", text)


def main():
    seeds_reply()
    seeds_dot_codec()
    seeds_command()
    seeds_capa()
    seeds_listings()
    seeds_apop()
    seeds_sasl()
    seeds_scenario()
    seeds_client_session()
    seeds_server_session()
    seeds_from_transcripts()
    for target in TARGETS:
        folder = os.path.join(ROOT, "regressions", target)
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, ".keep"), "ab").close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
