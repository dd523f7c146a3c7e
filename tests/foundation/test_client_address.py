"""The client's address: X-Forwarded-For only as far as TRUSTED_PROXY_COUNT says."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from foundation.client_address import client_address, limit_key


def request(remote: str = "10.0.0.2", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_it_ignores_x_forwarded_for(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_address(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_one_proxy_it_takes_the_address_that_proxy_appended(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    # The client wrote 198.51.100.66 itself; our proxy appended 203.0.113.9.
    assert client_address(request(forwarded="198.51.100.66, 203.0.113.9")) == "203.0.113.9"


def test_behind_two_proxies_it_takes_the_address_the_outer_one_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    forwarded = "198.51.100.66, 203.0.113.9, 10.0.0.7"
    assert client_address(request(forwarded=forwarded)) == "203.0.113.9"


def test_with_fewer_entries_than_proxies_it_takes_the_leftmost(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_address(request(forwarded="203.0.113.9")) == "203.0.113.9"


@pytest.mark.parametrize("entry, address", [("203.0.113.9:51234", "203.0.113.9"),
                                            ("[2001:db8::1]:443", "2001:db8::1"),
                                            ("2001:db8::1", "2001:db8::1")])
def test_a_port_some_proxies_add_is_dropped(settings, entry, address):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_address(request(forwarded=entry)) == address


def test_a_trusted_proxy_without_the_header_leaves_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_address(request("203.0.113.9")) == "203.0.113.9"


def test_limits_count_an_ipv6_client_by_its_64_and_an_ipv4_one_by_its_address():
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("203.0.113.9") == "203.0.113.9"
    assert limit_key("::ffff:203.0.113.9") == "203.0.113.9"
