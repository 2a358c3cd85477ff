"""Which addresses a feed added from chat may be read from: public ones only.

One rule for the import's early check (`bot.sources.ical.check_public_feed`) and for the
HTTP client's connector (`sources_http`), which applies it to every address it actually
connects to, so a host whose DNS answer changes between the check and the connection
(DNS rebinding) cannot reach the operator's network.
"""

from __future__ import annotations

import ipaddress

NOT_PUBLIC = "is not a public address"


def is_public_address(address: str) -> bool:
    """True for a global unicast address; False for private, loopback, link-local,
    multicast, reserved and unspecified ones, for IPv6 forms that embed such an IPv4
    address (IPv4-mapped `::ffff:127.0.0.1`, 6to4), and for anything unparsable."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone (`fe80::1%eth0`)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-compatible `::127.0.0.1` and NAT64 `64:ff9b::` lie in ::/8, which is reserved.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
