#!/bin/sh
# Creates the Temporal namespace Herald uses, if it does not exist yet.
# Runs in the temporalio/admin-tools image, which ships the `temporal` CLI (the
# temporalio/server image does not, from 1.30 on). Idempotent.
# Follows temporalio/samples-server compose/scripts/create-namespace.sh.
set -eu

NAMESPACE="${DEFAULT_NAMESPACE:-default}"
RETENTION="${DEFAULT_NAMESPACE_RETENTION:-72h}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
HOST="${ADDRESS%:*}"
PORT="${ADDRESS##*:}"

# Upstream resolves the host to an IPv4 address before calling the CLI; do the same,
# falling back to the name when resolution gives nothing.
IP="$(getent hosts "$HOST" 2>/dev/null \
    | awk '$1 ~ /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/ { print $1; exit }')" || IP=""
if [ -n "$IP" ]; then
    ADDRESS="${IP}:${PORT}"
fi

echo "Waiting for the Temporal frontend at ${ADDRESS}..."
attempt=0
until temporal operator cluster health --address "$ADDRESS"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then
        echo "Temporal did not become healthy at ${ADDRESS}" >&2
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    echo "Namespace '${NAMESPACE}' already exists."
else
    echo "Creating namespace '${NAMESPACE}' (retention ${RETENTION})..."
    temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" \
        --retention "$RETENTION"
fi
