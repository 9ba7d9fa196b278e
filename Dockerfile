# Herald worker / CLI image.
#
#   docker build -t herald .
#   docker run --rm herald herald --help
#
# Layers are ordered from least to most often changed: the third-party dependencies
# (read from pyproject.toml) get their own layer, so editing Herald's code only
# rebuilds the small wheel layer at the end.

ARG PYTHON_IMAGE=python:3.12-slim

# --- build: turn the source tree into a wheel -------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The whole context, as filtered by .dockerignore: pyproject.toml decides what goes
# into the wheel, so a new package needs no change here.
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime -------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin herald

# Dependencies only: this layer is reused until pyproject.toml changes.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt /tmp/pyproject.toml

# Herald itself (console script `herald`), without touching the dependencies again.
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-deps /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels

# /app is the working directory; Herald's data dir (.herald, used by the outbox
# provider and the SQLite fallback) lives under it and must be writable.
WORKDIR /app
RUN mkdir -p /app/.herald && chown -R herald:herald /app

USER herald

CMD ["herald", "worker"]
