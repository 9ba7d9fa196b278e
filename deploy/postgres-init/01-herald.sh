#!/bin/sh
# Creates Herald's own role and database next to Temporal's `temporal` and
# `temporal_visibility` databases.
#
# The postgres image runs the scripts in /docker-entrypoint-initdb.d only once, when
# the data volume is empty (see https://hub.docker.com/_/postgres, "Initialization
# scripts"). It may source this file rather than execute it, so it changes no shell
# options and never calls `exit`.
#
# The `herald` role gets the same password as the superuser ($POSTGRES_PASSWORD), which
# is what docker-compose.yml puts in HERALD_DATABASE_URL. The statements are guarded, so
# the script is safe to re-run by hand against an existing server:
#   docker compose exec postgresql sh /docker-entrypoint-initdb.d/01-herald.sh

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v herald_password="$POSTGRES_PASSWORD" <<'EOSQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', 'herald', :'herald_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'herald')\gexec

SELECT format('CREATE DATABASE %I OWNER %I', 'herald', 'herald')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'herald')\gexec
EOSQL
