# syntax=docker/dockerfile:1

# Build stage: Tutor and its dependencies go into a virtualenv that the runtime stage
# copies whole, so pip's build leftovers never reach the final image. Both stages must
# use the same base: the venv's python is a symlink into it.
FROM python:3.12-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The dependencies exactly as locked (requirements.lock, with the postgres and redis
# extras), every file checked against its hash: the same image from the same commit.
# A layer of its own, rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
# Then Tutor, with nothing resolved again; `pip check` fails the build if the lock no
# longer satisfies pyproject.toml. Only what the wheel is built from is copied, so editing
# tests or docs keeps these layers cached. The build backend (hatchling) comes through
# pip's build isolation and stays out of the image.
COPY pyproject.toml README.md LICENSE ./
COPY service ./service
COPY scheduler ./scheduler
COPY prompts ./prompts
RUN pip install --no-cache-dir --no-deps . \
    && pip check


FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    TUTOR_DATA_DIR=/data

# A fixed uid/gid, so files on mounted volumes keep the same owner across rebuilds.
RUN groupadd --system --gid 10001 tutor \
    && useradd --system --uid 10001 --gid tutor --create-home --shell /usr/sbin/nologin tutor \
    && mkdir -p /data/papers \
    && chown -R tutor:tutor /data

COPY --from=build /opt/venv /opt/venv

# Declared after the chown: a new volume is initialised from the image, owner included.
VOLUME /data
WORKDIR /home/tutor
# Numeric, so orchestrators can verify "not root" without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000
# The slim image has no curl; urlopen raises (exit 1) on refusal, timeout or non-2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# `tutor serve` migrates the database first (a no-op when it is up to date: compose runs
# `tutor migrate` once before it); 0.0.0.0 because loopback is unreachable from outside
# the container.
CMD ["tutor", "serve", "--host", "0.0.0.0"]
