# One image for every pagelab service in docker-compose.yml: migrate, api and worker differ
# only by command. Build: docker build -t pagelab .

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
# Wheels for pagelab and all its dependencies, so the runtime stage needs no build tools.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# site-packages is not writable by the service user, so numba caches compiled kernels in /tmp.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAGELAB_HOME=/var/lib/pagelab \
    NUMBA_CACHE_DIR=/tmp/numba-cache
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels pagelab
RUN useradd --system --uid 10001 --home-dir /var/lib/pagelab --create-home pagelab
USER pagelab
WORKDIR /var/lib/pagelab
EXPOSE 8000
CMD ["pagelab", "api", "--host", "0.0.0.0", "--port", "8000"]
