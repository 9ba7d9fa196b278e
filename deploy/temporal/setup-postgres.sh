#!/bin/sh
# Creates, or upgrades, Temporal's two PostgreSQL databases and their schemas.
# Runs in the temporalio/admin-tools image (temporal-sql-tool, schemas under
# /etc/temporal/schema). Connection settings come from the environment, which
# temporal-sql-tool reads itself: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
#
# Idempotent, so it runs on every `docker compose up`:
#   - `create` ignores a database that already exists (duplicate_database),
#   - `setup-schema -v 0.0` keeps a newer recorded schema version,
#   - `update-schema` applies only the versioned migrations not yet applied,
#     which is also how a Temporal upgrade (new admin-tools tag) migrates the schema.
# Follows temporalio/samples-server compose/scripts/setup-postgres.sh.
set -eu

: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${TEMPORAL_DB:=temporal}"
: "${TEMPORAL_VISIBILITY_DB:=temporal_visibility}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "Waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}..."
attempt=0
until nc -z -w 5 "$SQL_HOST" "$SQL_PORT"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 60 ]; then
        echo "PostgreSQL is not reachable at ${SQL_HOST}:${SQL_PORT}" >&2
        exit 1
    fi
    sleep 2
done

echo "Temporal schema in database '${TEMPORAL_DB}'..."
temporal-sql-tool --db "$TEMPORAL_DB" create
temporal-sql-tool --db "$TEMPORAL_DB" setup-schema -v 0.0
temporal-sql-tool --db "$TEMPORAL_DB" update-schema -d "$SCHEMA_DIR/temporal/versioned"

echo "Visibility schema in database '${TEMPORAL_VISIBILITY_DB}'..."
temporal-sql-tool --db "$TEMPORAL_VISIBILITY_DB" create
temporal-sql-tool --db "$TEMPORAL_VISIBILITY_DB" setup-schema -v 0.0
temporal-sql-tool --db "$TEMPORAL_VISIBILITY_DB" update-schema -d "$SCHEMA_DIR/visibility/versioned"

echo "Temporal schemas are up to date."
