"""What went wrong on the network, in a few words: a requests/urllib3 exception
chain described by its most telling cause (DNS, refused, reset, TLS, timeout,
dropped), for the one line a person reads. msgcli.wire.transport raises with it.
"""

import http.client
import socket
import ssl

import requests
import urllib3.exceptions


def _tls_problem(error):
    if isinstance(error, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted (for a private CA, set REQUESTS_CA_BUNDLE)"
    if "WRONG_VERSION_NUMBER" in str(error) or "record layer failure" in str(error):
        return "TLS handshake failed: is the server plain HTTP? (then use http:// in " \
               "--base-url)"
    return "TLS handshake failed"


_TIMEOUTS = (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError)
_TLS = (ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError)
_DROPPED = (http.client.IncompleteRead, http.client.RemoteDisconnected,
            urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)


def _chain(error):
    """The error and every cause behind it (requests and urllib3 nest them)."""
    seen = []
    current = error
    while isinstance(current, BaseException) and all(current is not e for e in seen):
        seen.append(current)
        nxt = getattr(current, "reason", None)
        if not isinstance(nxt, BaseException) or nxt is current:
            nxt = current.__cause__ or current.__context__
        if nxt is None and current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        current = nxt
    return seen


def describe_network_error(error):
    """A short human description of a requests/urllib3 exception chain, by the most
    telling cause in it (urllib3's NewConnectionError is a timeout by inheritance,
    so a refusal or a DNS failure behind it is looked for first)."""
    chain = _chain(error)

    def first(kind):
        return next((e for e in chain if isinstance(e, kind)), None)

    if first(socket.gaierror):
        return "cannot resolve the host name"
    if first(ConnectionRefusedError):
        return "connection refused"
    if first(ConnectionResetError):
        return "connection reset by the server"
    tls = first(ssl.SSLError)
    if tls is not None:
        return _tls_problem(tls)
    if first(_TLS):
        return "TLS handshake failed"
    if any(isinstance(e, _TIMEOUTS) and not isinstance(e, urllib3.exceptions.NewConnectionError)
           for e in chain):
        return "timed out"
    if first(_DROPPED):
        return "the connection dropped before the response was complete"
    from msgcli.output.redaction import excerpt  # redacted before it is cut

    return excerpt(str(error), 200) or type(error).__name__
