"""https targets: a certificate that does not verify is said to in words (not a bare ConnectError
like a closed port), and the target file's `tls:` section (ca_file, client_cert, client_key,
verify) is honoured by every client the suite uses. Name resolution counts inside
request_timeout_s.

A loopback HTTPS server with a CA, a server certificate for 127.0.0.1 and a client certificate,
all generated here with `cryptography`; one server asks for no client certificate, one requires it.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import socket
import ssl
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatcontract.servers.serve import target_document
from chatcontract.suite.guarded import TLSVerificationFailed, TotalTimeout, guarded_client, guarded_session, probe
from chatcontract.targets import TargetError, from_document, load_target
from tests.hostile.conftest import REQUEST_TIMEOUT_S, hostile_target
from tests.hostile.servers import serving

pytestmark = pytest.mark.xdist_group("hostile-tls")


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _certificate(subject: str, key, issuer: x509.Name | None, issuer_key, *, ca: bool = False,
                 usage=ExtendedKeyUsageOID.SERVER_AUTH) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                                      x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        ski = x509.SubjectKeyIdentifier.from_public_key(issuer_key.public_key())
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    if ca:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `folder`."""

    def __init__(self, folder: Path) -> None:
        ca_key, server_key, client_key = _key(), _key(), _key()
        ca = _certificate("chatcontract test CA", ca_key, None, ca_key, ca=True)
        server = _certificate("127.0.0.1", server_key, ca.subject, ca_key)
        client = _certificate("a client", client_key, ca.subject, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        self.folder = folder
        for name, data in (("ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
                           ("server.pem", server.public_bytes(serialization.Encoding.PEM)),
                           ("server.key", _pem_key(server_key)),
                           ("client.pem", client.public_bytes(serialization.Encoding.PEM)),
                           ("client.key", _pem_key(client_key))):
            (folder / name).write_bytes(data)

    def path(self, name: str) -> str:
        return str(self.folder / name)


def _serve(pki: Pki, *, client_cert_required: bool):
    """The HTTPS server of these tests (asking for a client certificate or not), as `serving`."""
    async def answer(_request) -> JSONResponse:
        return JSONResponse({"data": []})

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "DELETE"])])
    return serving(app, scheme="https", ssl_certfile=pki.path("server.pem"), ssl_keyfile=pki.path("server.key"),
                   ssl_ca_certs=pki.path("ca.pem"),
                   ssl_cert_reqs=int(ssl.CERT_REQUIRED if client_cert_required else ssl.CERT_NONE))


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pki, str, str]]:
    pki = Pki(tmp_path_factory.mktemp("pki"))
    with _serve(pki, client_cert_required=False) as plain_url, _serve(pki, client_cert_required=True) as mutual_url:
        yield pki, plain_url, mutual_url


def _target(url: str, **tls):
    document = {**target_document("plugdj", url, test_hooks=False), "request_timeout_s": 5}
    if tls:
        document["tls"] = tls
    return from_document(document, where="tls-test", default_name="tls")


def test_an_unknown_ca_is_said_in_words_not_as_a_bare_connect_error(https) -> None:
    _, url, _ = https
    problem = probe(_target(url))
    assert problem is not None
    assert f"target tls unreachable at {url}: TLSVerificationFailed (TLS certificate verification failed for " in problem
    assert re.search(r"verification failed for 127\.0\.0\.1 \((self-signed|unable to get local issuer)[^)]*\)", problem)
    assert "tls.ca_file" in problem
    closed = probe(_target("https://127.0.0.1:9"))
    assert closed == "target tls unreachable at https://127.0.0.1:9: ConnectError"  # a closed port stays itself


def test_ca_file_makes_the_target_verify_in_every_client(https) -> None:
    pki, url, _ = https
    target = _target(url, ca_file=pki.path("ca.pem"))
    assert probe(target) is None
    with guarded_client(5, verify=target.ssl_context()) as client:
        assert client.get(url + "/_/mutes").json() == {"data": []}
    session = guarded_session(target.ssl_context())
    try:
        assert session.get(url + "/_/mutes", timeout=5).json() == {"data": []}
    finally:
        session.close()
    with guarded_client(5) as client, pytest.raises(TLSVerificationFailed):
        client.get(url + "/_/mutes")  # without the CA: refused, in words


def test_verify_false_accepts_the_certificate(https) -> None:
    _, url, _ = https
    assert probe(_target(url, verify=False)) is None


def test_a_client_certificate_is_presented_when_given(https) -> None:
    pki, _, url = https
    without = probe(_target(url, ca_file=pki.path("ca.pem")))
    assert without is not None and "TLSVerificationFailed" not in without  # the server refused us, not the reverse
    target = _target(url, ca_file=pki.path("ca.pem"), client_cert=pki.path("client.pem"), client_key=pki.path("client.key"))
    assert probe(target) is None


def test_tls_paths_are_relative_to_the_target_file_and_checked_at_load(https, tmp_path: Path) -> None:
    pki, url, _ = https
    (tmp_path / "ca.pem").write_bytes(Path(pki.path("ca.pem")).read_bytes())
    path = hostile_target(tmp_path, "relative", url, tls={"ca_file": "ca.pem"})
    assert probe(load_target(path)) is None
    broken = hostile_target(tmp_path, "broken", url, tls={"ca_file": "missing.pem"})
    with pytest.raises(TargetError, match=r"broken.target.yaml: tls: cannot use the certificate files \(No such file"):
        load_target(broken)
    with pytest.raises(TargetError, match="client_key"):
        load_target(hostile_target(tmp_path, "keyonly", url, tls={"client_key": "k.pem"}))


def test_name_resolution_counts_inside_the_request_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def slow(host, *args, **kwargs):
        if host == "slow.example":
            time.sleep(30)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with guarded_client(REQUEST_TIMEOUT_S) as client, pytest.raises(httpx.TimeoutException) as caught:
        client.get("http://slow.example:9/_/mutes")
    assert time.monotonic() - started < 5 * REQUEST_TIMEOUT_S
    assert isinstance(caught.value, TotalTimeout) or "name resolution of slow.example" in str(caught.value)


def test_the_reset_hook_is_called_with_the_targets_tls_settings(https) -> None:
    """A target with a private CA and a reset hook: the hook call verifies with that CA too (it
    used a client with the default trust store, so every check erred at reset)."""
    from types import SimpleNamespace

    from chatcontract.suite.plugin import _hook_client

    pki, url, _ = https
    config = SimpleNamespace(stash=pytest.Stash())
    trusted = _target(url, ca_file=pki.path("ca.pem"))
    assert _hook_client(config, trusted).post(url + trusted.hooks_path + "/reset", timeout=5).status_code == 200
    with pytest.raises(TLSVerificationFailed):
        untrusted = _target(url)
        untrusted.name = "tls-default-trust"
        _hook_client(config, untrusted).post(url + "/_chatcontract/reset", timeout=5)
