from __future__ import annotations

import datetime
import ipaddress
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from foundation import outbound
from tests.web_servers import fake_dns, web_servers

ALLOW_TEST_SERVER = outbound.parse_networks(["127.0.0.2/32"])
TIMEOUTS = {"connect_timeout": 2, "read_timeout": 2}


@pytest.fixture
def servers():
    with web_servers() as start:
        yield start


@pytest.mark.parametrize(("address", "allowed"), [
    ("93.184.216.34", True),
    ("8.8.8.8", True),
    ("2606:4700:4700::1111", True),
    ("127.0.0.1", False),
    ("127.0.0.2", False),
    ("10.0.0.5", False),
    ("172.16.3.4", False),
    ("192.168.1.1", False),
    ("169.254.169.254", False),
    ("100.64.0.1", False),  # carrier-grade NAT
    ("0.0.0.0", False),
    ("255.255.255.255", False),
    ("224.0.0.1", False),
    ("240.0.0.1", False),
    ("198.18.0.1", False),
    ("::1", False),
    ("::", False),
    ("fe80::1", False),
    ("fe80::1%eth0", False),
    ("fc00::1", False),
    ("fd12:3456::1", False),
    ("ff02::1", False),  # multicast, though Python calls it global
    ("ff0e::1", False),
    ("::ffff:127.0.0.1", False),
    ("::ffff:10.0.0.1", False),
    ("::ffff:93.184.216.34", True),
    ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ("2002:5db8:d822::", True),  # 6to4 of 93.184.216.34
    ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
    ("2001:db8::1", False),
    ("not an address", False),
])
def test_only_public_addresses_are_allowed(address, allowed):
    assert outbound.is_allowed(address) is allowed


def test_an_explicitly_allowed_network_lets_its_addresses_through_and_no_others():
    networks = outbound.parse_networks(["127.0.0.2/32", "10.1.0.0/16", "fd00::/8"])

    assert outbound.is_allowed("127.0.0.2", networks)
    assert outbound.is_allowed("::ffff:127.0.0.2", networks)
    assert outbound.is_allowed("10.1.200.3", networks)
    assert outbound.is_allowed("fd12::1", networks)
    assert not outbound.is_allowed("127.0.0.1", networks)
    assert not outbound.is_allowed("10.2.0.1", networks)
    assert outbound.is_allowed("93.184.216.34", networks)


@pytest.mark.parametrize(("url", "reason"), [
    ("file:///etc/passwd", "scheme"),
    ("ftp://example.com/clip.mp4", "scheme"),
    ("gopher://example.com/", "scheme"),
    ("data:video/mp4;base64,AAAA", "scheme"),
    ("//example.com/clip.mp4", "scheme"),
    ("http:///clip.mp4", "host"),
    ("http://example.com:99999/", "host"),
    ("http://127.0.0.1/", "address"),
    ("http://[::1]:8000/", "address"),
    ("http://0.0.0.0/", "address"),
    ("http://2130706433/", "address"),  # 127.0.0.1 as one number
    ("http://0x7f.1/", "address"),
    ("http://[::ffff:169.254.169.254]/", "address"),
    ("http://[fe80::1%25eth0]/", "address"),
])
def test_it_refuses_urls_it_must_not_fetch(url, reason):
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.check_url(url)

    assert refused.value.reason == reason
    assert not refused.value.redirected


def test_a_name_is_refused_when_any_of_its_addresses_is_private(monkeypatch):
    real = outbound.socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        if host == "mixed.example.test":
            return real("93.184.216.34", port, *args, **kwargs) + real("10.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", two_answers)

    with pytest.raises(outbound.OutboundRefused, match="10.0.0.1"):
        outbound.check_url("https://mixed.example.test/clip.mp4")


def test_it_fetches_from_an_allowed_server_and_streams_the_body(servers):
    site = servers("127.0.0.2")
    site.file("/clip.mp4", b"x" * 200_000)

    with outbound.open_url(site.url("/clip.mp4?sig=abc"), allowed_networks=ALLOW_TEST_SERVER,
                           **TIMEOUTS) as response:
        chunks = list(response.iter_chunks(65536))

    assert response.status == 200 and response.content_length == 200_000
    assert b"".join(chunks) == b"x" * 200_000 and len(chunks) > 1
    assert site.requests[0]["path"] == "/clip.mp4?sig=abc"


def test_it_connects_to_the_address_it_checked_not_to_a_second_answer(servers, monkeypatch):
    """DNS rebinding: the name answers an allowed address, then loopback. The request
    goes to the checked address, carrying the name in Host; the name is looked up once."""
    refused_site = servers("127.0.0.1")
    site = servers("127.0.0.2", port=refused_site.port)
    site.file("/clip.mp4", b"video")
    refused_site.file("/clip.mp4", b"secret")
    lookups = fake_dns(monkeypatch, {"media.example.test": ["127.0.0.2", "127.0.0.1"]})

    url = site.url("/clip.mp4", host="media.example.test")
    with outbound.open_url(url, allowed_networks=ALLOW_TEST_SERVER, **TIMEOUTS) as response:
        body = response.read(100)

    assert body == b"video"
    assert lookups["media.example.test"] == 1
    assert site.requests[0]["headers"]["Host"] == f"media.example.test:{site.port}"
    assert refused_site.hits == 0
    # A second request looks the name up again, and now refuses it.
    with pytest.raises(outbound.OutboundRefused):
        with outbound.open_url(url, allowed_networks=ALLOW_TEST_SERVER, **TIMEOUTS):
            pass
    assert refused_site.hits == 0


def test_every_redirect_is_checked_before_it_is_followed(servers):
    site = servers("127.0.0.2")
    loopback = servers("127.0.0.1")
    loopback.file("/clip.mp4", b"secret")
    site.redirect("/clip.mp4", loopback.url("/clip.mp4"))

    with pytest.raises(outbound.OutboundRefused) as refused:
        with outbound.open_url(site.url("/clip.mp4"), allowed_networks=ALLOW_TEST_SERVER,
                               **TIMEOUTS):
            pass

    assert refused.value.reason == "address" and refused.value.redirected
    assert site.hits == 1 and loopback.hits == 0


def test_a_redirect_to_another_scheme_is_refused(servers):
    site = servers("127.0.0.2")
    site.redirect("/clip.mp4", "file:///etc/passwd")

    with pytest.raises(outbound.OutboundRefused) as refused:
        with outbound.open_url(site.url("/clip.mp4"), allowed_networks=ALLOW_TEST_SERVER,
                               **TIMEOUTS):
            pass

    assert refused.value.reason == "scheme" and refused.value.redirected


def test_relative_redirects_are_followed_up_to_five_times(servers):
    site = servers("127.0.0.2")
    for hop in range(5):
        site.redirect(f"/hop{hop}", f"/hop{hop + 1}", status=301 if hop % 2 else 307)
    site.file("/hop5", b"arrived")
    site.redirect("/loop", "/loop")

    with outbound.open_url(site.url("/hop0"), allowed_networks=ALLOW_TEST_SERVER,
                           **TIMEOUTS) as response:
        assert response.read(100) == b"arrived"
        assert response.url.endswith("/hop5")
    with pytest.raises(outbound.OutboundTooManyRedirects):
        with outbound.open_url(site.url("/loop"), allowed_networks=ALLOW_TEST_SERVER,
                               **TIMEOUTS):
            pass
    assert site.hits == 6 + 6


def test_credentials_in_the_url_go_to_its_own_origin_only_and_never_into_a_message(servers):
    site = servers("127.0.0.2")
    other = servers("127.0.0.2")
    site.redirect("/clip.mp4", other.url("/clip.mp4"))
    other.status("/clip.mp4", 404)
    url = site.url("/clip.mp4").replace("http://", "http://user:hunter2@")

    with pytest.raises(outbound.OutboundHTTPError) as failed:
        with outbound.open_url(url, allowed_networks=ALLOW_TEST_SERVER, **TIMEOUTS):
            pass

    assert failed.value.status == 404 and not failed.value.transient
    assert "hunter2" not in str(failed.value) and "user" not in str(failed.value)
    assert site.requests[0]["headers"]["Authorization"].startswith("Basic ")
    assert "Authorization" not in other.requests[0]["headers"]
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.check_url("http://user:hunter2@127.0.0.1/")
    assert "hunter2" not in str(refused.value)
    assert outbound.display_url("https://user:hunter2@a.example/v.mp4?token=t") == "https://a.example/v.mp4"


def test_server_errors_are_transient_and_client_errors_permanent(servers):
    site = servers("127.0.0.2")
    site.status("/busy", 503)
    site.status("/gone", 410)

    for path, transient in (("/busy", True), ("/gone", False)):
        with pytest.raises(outbound.OutboundHTTPError) as failed:
            with outbound.open_url(site.url(path), allowed_networks=ALLOW_TEST_SERVER, **TIMEOUTS):
                pass
        assert failed.value.transient is transient


def test_a_server_that_never_answers_times_out_as_unavailable(servers):
    site = servers("127.0.0.2")
    site.hang("/clip.mp4")

    started = time.monotonic()
    with pytest.raises(outbound.OutboundUnavailable, match="timed out") as failed:
        with outbound.open_url(site.url("/clip.mp4"), allowed_networks=ALLOW_TEST_SERVER,
                               connect_timeout=2, read_timeout=0.5):
            pass

    assert failed.value.transient
    assert time.monotonic() - started < 5


def test_a_closed_port_is_unavailable(servers):
    site = servers("127.0.0.2")
    port = site.port
    site.stop()

    with pytest.raises(outbound.OutboundUnavailable, match="Could not connect"):
        with outbound.open_url(f"http://127.0.0.2:{port}/", allowed_networks=ALLOW_TEST_SERVER,
                               **TIMEOUTS):
            pass


# --- https: pinned to the address, verified against the name -------------------------
def _certificate(tmp_path, name: str) -> tuple[str, ssl.SSLContext]:
    """A CA file and a server TLS context with a certificate for `name` signed by it."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject, issuer, key, signer, *, ca: bool, san: str | None = None):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]),
                                            critical=False)
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                              content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False), critical=True)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca_cert = build(ca_name, ca_name, ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, key,
                 ca_key, ca=False, san=name)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file = tmp_path / "server.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file)
    return str(ca_file), context


def test_https_connects_to_the_checked_address_and_verifies_the_real_name(servers, tmp_path,
                                                                           monkeypatch):
    ca_file, context = _certificate(tmp_path, "media.example.test")
    site = servers("127.0.0.2", tls=context)
    site.file("/clip.mp4", b"over tls")
    lookups = fake_dns(monkeypatch, {"media.example.test": ["127.0.0.2", "127.0.0.1"],
                                     "impostor.example.test": ["127.0.0.2"]})

    url = site.url("/clip.mp4", scheme="https", host="media.example.test")
    with outbound.open_url(url, allowed_networks=ALLOW_TEST_SERVER, ca_certs=ca_file,
                           **TIMEOUTS) as response:
        assert response.read(100) == b"over tls"
    assert lookups["media.example.test"] == 1

    # The same server under a name its certificate does not carry is not trusted.
    impostor = site.url("/clip.mp4", scheme="https", host="impostor.example.test")
    with pytest.raises(outbound.OutboundUnavailable, match="TLS"):
        with outbound.open_url(impostor, allowed_networks=ALLOW_TEST_SERVER, ca_certs=ca_file,
                               **TIMEOUTS):
            pass
    assert site.hits == 1


def test_allowed_networks_are_parsed_from_cidrs():
    assert outbound.parse_networks([" 10.0.0.0/8", "::1/128"]) == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
    with pytest.raises(ValueError):
        outbound.parse_networks(["ten"])
