"""The address a failed sign-in is counted against (console.auth, through
infra.rate_limits.client_address with local_peer_counts): the same as the rate limits' for a
forwarded or remote client, but a loopback peer counts as itself (a lockout needs an address,
and production mode refuses to run behind a proxy without the proxy setting), and no peer at all
as "unknown"."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from infra.rate_limits import client_address
from tests.helpers import forged_address


@pytest.mark.parametrize("forwarded, peer, limits, lockout", [
    ("", "127.0.0.1", None, "127.0.0.1"),  # the limits' shared bucket; the lockout's own address
    ("", "::1", None, "::1"),
    ("", "", None, "unknown"),
    ("203.0.113.7", "127.0.0.1", "203.0.113.7", "203.0.113.7"),  # the proxy said who it is
    ("", "198.51.100.4", "198.51.100.4", "198.51.100.4"),
    ("2001:db8:aa:bb:1:2:3:4", "127.0.0.1", "2001:db8:aa:bb::/64", "2001:db8:aa:bb::/64"),
    ("", "2001:db8:aa:bb:ffff::9", "2001:db8:aa:bb::/64", "2001:db8:aa:bb::/64"),
    ("", "unix-socket", "unix-socket", "unix-socket"),  # not an IP address: as it is
])
def test_a_sign_in_counts_a_local_peer_as_itself_and_otherwise_as_the_limits_do(forwarded, peer, limits, lockout):
    request = SimpleNamespace(remote_addr=forwarded, ip=peer)
    assert client_address(request) == limits
    assert client_address(request, local_peer_counts=True) == lockout


def test_each_forged_address_of_the_attack_tests_counts_on_its_own():
    counted = [client_address(SimpleNamespace(remote_addr=forged_address(n), ip="127.0.0.1")) for n in range(2000)]
    assert len(set(counted)) == len(counted)
    assert any(":" in key and key.endswith("/64") for key in counted) and any("." in key for key in counted)
