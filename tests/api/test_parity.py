"""The HTTP client is a drop-in for the service layer: same operations, same arguments."""

from __future__ import annotations

import inspect

from herald.http_client import HttpHerald
from herald.service import Herald
from tests.api.conftest import Api

# HttpHerald's own additions: the key it sends with a POST.
EXTRA = {"idempotency_key"}


def operations(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(cls, inspect.iscoroutinefunction)
        if not name.startswith("_") and name not in ("connect", "temporal", "aclose")
    }


def test_every_operation_of_the_service_layer_is_offered_over_http() -> None:
    direct, remote = operations(Herald), operations(HttpHerald)
    assert sorted(direct) == sorted(set(remote) - {"over_http"})
    for name, signature in direct.items():
        theirs = remote[name].parameters
        for param in signature.parameters.values():
            assert param.name in theirs, f"HttpHerald.{name} has no {param.name!r}"
            other = theirs[param.name]
            assert other.kind == param.kind, f"HttpHerald.{name}({param.name}) is {other.kind}"
            assert (other.default is inspect.Parameter.empty) == (
                param.default is inspect.Parameter.empty
            ), f"HttpHerald.{name}({param.name}): required in one, optional in the other"
        assert set(theirs) - set(signature.parameters) <= EXTRA, name


async def test_herald_over_http_is_the_http_client(api: Api) -> None:
    async with Herald.over_http(api.url, timeout=60) as herald:
        assert isinstance(herald, HttpHerald)
        contact = await herald.get_subscriber("camille")
        assert contact.email == "camille@example.org"
        assert await herald.deliveries(subject_type="loan", limit=1) == []
