"""Which addresses a chat admin's feed may be read from."""

from __future__ import annotations

import pytest

from bot.sources.addresses import is_public_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.5", "192.168.1.1", "172.16.0.1", "100.64.0.1",  # private, CGNAT
        "169.254.169.254", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1%eth0", "fc00::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
        "::127.0.0.1", "::10.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1", "2002:7f00:1::",  # NAT64, 6to4 of loopback
        "not an address",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(address)
