"""The Python side of pipe/python_compat_test.cc.

Usage: py_peer.py {client|listener} ADDRESS AUTHKEY [--modern]

ADDRESS is tcp:HOST:PORT, unix:PATH or abstract:NAME; AUTHKEY is hex, or
"none" for no authentication. --modern replaces Python 3.11's HMAC-MD5
handshake by the "{sha256}" one of Python 3.12 (written out below from the
protocol description in 3.12's multiprocessing/connection.py), so the test
covers both generations against the machine's python3.

Both roles run the same exchange over send_bytes/recv_bytes: the client
sends "hello from python", a 1 MiB message and an empty one; the peer
(mp) answers each with the message reversed and then "bye". The listener
prints its address on stdout first so the test can connect to it.
Exit status: 0 done, 3 AuthenticationError, 4 a wrong reply.
"""
import hmac
import multiprocessing.connection as mpc
import os
import sys

CHALLENGE = b"#CHALLENGE#"
WELCOME = b"#WELCOME#"
FAILURE = b"#FAILURE#"


def modern_deliver_challenge(connection, authkey):
    message = b"{sha256}" + os.urandom(40)
    connection.send_bytes(CHALLENGE + message)
    response = connection.recv_bytes(256)
    ok = response.startswith(b"{sha256}") and hmac.compare_digest(
        response[len(b"{sha256}"):],
        hmac.new(authkey, message, "sha256").digest())
    connection.send_bytes(WELCOME if ok else FAILURE)
    if not ok:
        raise mpc.AuthenticationError("digest received was wrong")


def modern_answer_challenge(connection, authkey):
    message = connection.recv_bytes(256)
    if not message.startswith(CHALLENGE):
        raise mpc.AuthenticationError("expected a challenge")
    message = message[len(CHALLENGE):]
    if not message.startswith(b"{sha256}"):
        raise mpc.AuthenticationError("expected a {sha256} challenge")
    digest = hmac.new(authkey, message, "sha256").digest()
    connection.send_bytes(b"{sha256}" + digest)
    if connection.recv_bytes(256) != WELCOME:
        raise mpc.AuthenticationError("digest sent was rejected")


def parse_address(text):
    kind, _, rest = text.partition(":")
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        return (host, int(port))
    if kind == "unix":
        return rest
    if kind == "abstract":
        return "\0" + rest
    raise SystemExit("bad address " + text)


def format_address(address):
    if isinstance(address, tuple):
        return "tcp:%s:%d" % address
    if isinstance(address, bytes):  # Linux reports abstract names as bytes
        address = address.decode()
    if address.startswith("\0"):
        return "abstract:" + address[1:]
    return "unix:" + address


MESSAGES = [b"hello from python", bytes(range(256)) * 4096, b""]


def client_exchange(conn):
    for m in MESSAGES:
        conn.send_bytes(m)
        if conn.recv_bytes() != m[::-1]:
            return 4
    return 0 if conn.recv_bytes() == b"bye" else 4


def main():
    role, address, key = sys.argv[1], parse_address(sys.argv[2]), sys.argv[3]
    authkey = None if key == "none" else bytes.fromhex(key)
    if "--modern" in sys.argv:
        mpc.deliver_challenge = modern_deliver_challenge
        mpc.answer_challenge = modern_answer_challenge
    try:
        if role == "client":
            with mpc.Client(address, authkey=authkey) as conn:
                return client_exchange(conn)
        with mpc.Listener(address, authkey=authkey) as listener:
            print(format_address(listener.address), flush=True)
            with listener.accept() as conn:
                return client_exchange(conn)
    except mpc.AuthenticationError as e:
        print("AuthenticationError:", e, file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
