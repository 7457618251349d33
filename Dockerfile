# The controller image: a wheel built in one stage, installed into a venv, copied into a slim runtime
# stage that runs as an unprivileged user with nothing but the interpreter and the venv.
# Build: make docker-build IMG=<ref>   (pin PYTHON_IMAGE by digest for reproducible releases)
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Dependencies come only from the hashed lock files (make lock), in their own layer; the build backend
# too, so nothing unpinned is downloaded while the image builds.
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN python -m pip install --require-hashes -r requirements/build.txt \
 && python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY api ./api
COPY wfe ./wfe
RUN python -m pip wheel --no-deps --no-build-isolation --wheel-dir /dist . \
 && python -m pip --python /opt/venv/bin/python install --no-deps /dist/*.whl

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="workflowexecution-controller" \
      org.opencontainers.image.description="Kubernaut WorkflowExecution controller" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
# pip and friends are build tools: the runtime image does not keep them.
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin nonroot \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/wfe/audit-spool
COPY --from=build /opt/venv /opt/venv
USER 65532:65532
EXPOSE 9090 8081
ENTRYPOINT ["wfe-controller"]
