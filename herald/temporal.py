"""Connecting to Temporal the same way everywhere (client, worker, tests, replayer)."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from herald.codec import EncryptionCodec, KeylessCodec, parse_keys, with_encryption
from herald.errors import HeraldError, InvalidInput
from herald.search_attributes import ALL_KEYS
from herald.settings import Settings

if TYPE_CHECKING:
    from temporalio.runtime import Runtime
    from temporalio.worker import WorkflowRunner

DATA_CONVERTER: DataConverter = pydantic_data_converter


@functools.cache
def workflow_runner() -> WorkflowRunner:
    """The sandbox the worker runs workflows in.

    Herald's own modules are deterministic (pure policy, models); passing them through the
    sandbox keeps real ``zoneinfo`` objects in the policy code and imports them only once.
    Built on first use so that clients and the CLI never import the worker machinery.
    """
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )


# The workflow helpers hold no state of their own (constants and functions that call the
# ``workflow`` API of the run in progress): imported once, not once per cached workflow.
PASSED_THROUGH = ("herald", "workflows.deadline", "workflows.notifying")


class EncryptionRequired(InvalidInput):
    """``HERALD_REQUIRE_ENCRYPTION`` is set but this process cannot encrypt."""


NO_KEYS = (
    "HERALD_REQUIRE_ENCRYPTION is set but HERALD_ENCRYPTION_KEYS is not: refusing to talk to "
    "Temporal in plaintext (set the keys the worker uses)"
)


def data_converter(settings: Settings) -> DataConverter:
    """The converter every client and worker uses: pydantic, encrypted when keys are set.

    Without keys, encrypted payloads are reported clearly; with ``require_encryption`` and
    no keys there is no converter at all (:class:`EncryptionRequired`)."""
    if settings.encryption_keys is None:
        if settings.require_encryption:
            raise EncryptionRequired(NO_KEYS)
        return dataclasses.replace(DATA_CONVERTER, payload_codec=KeylessCodec())
    return with_encryption(
        DATA_CONVERTER,
        parse_keys(settings.encryption_keys.get_secret_value()),
        require_encrypted=settings.require_encryption,
    )


def check_encrypted(client: Client, settings: Settings) -> None:
    """Refuse a client made elsewhere (a web app's own) that would write plaintext while
    ``require_encryption`` is set."""
    if settings.require_encryption and not isinstance(
        client.data_converter.payload_codec, EncryptionCodec
    ):
        raise EncryptionRequired(
            "HERALD_REQUIRE_ENCRYPTION is set but this Temporal client has no encryption "
            "codec: build it with herald.temporal.data_converter(settings)"
        )


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client of the settings' Temporal; ``runtime``: the SDK runtime its workers use
    (the worker's, when it serves the SDK's metrics)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )


def metrics_runtime(address: str) -> Runtime:
    """An SDK runtime serving the Temporal SDK's own metrics (``temporal_*``: task
    latencies, slots, pollers, sticky cache…) for Prometheus on ``address`` (host:port)."""
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except Exception as err:  # noqa: BLE001 - the SDK's own error, reported in one line
        raise HeraldError(
            f"cannot serve the worker's metrics on {address}: {' '.join(str(err).split())}"
        ) from None


def search_attribute_types() -> dict[str, str]:
    """Name → type name (``Keyword``, ``Datetime``) of every search attribute Herald uses."""
    return {key.name: key.indexed_value_type.name.title() for key in ALL_KEYS}


async def missing_search_attributes(client: Client) -> list[str]:
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return [key.name for key in ALL_KEYS if key.name not in resp.custom_attributes]


async def register_search_attributes(client: Client) -> list[str]:
    """Register Herald's search attributes on the client's namespace; returns those added."""
    missing = await missing_search_attributes(client)
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                    for key in ALL_KEYS
                    if key.name in missing
                },
            )
        )
    return missing
