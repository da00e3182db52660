# syntax=docker/dockerfile:1
#
# The `vestibule` image: one binary, every subcommand (`server` by default; the Helm chart runs
# `operator`). Multi-stage: compiled in the Rust image, shipped on distroless (glibc, CA
# certificates, no shell, no package manager) as the unprivileged user 65532.
#
#   docker build -t ghcr.io/vestibule/vestibule:dev .
#   docker run --rm -p 8080:8080 ghcr.io/vestibule/vestibule:dev server --config ...

# ---- build ----------------------------------------------------------------------------------
# Bookworm, like the runtime's Debian 12: the binary links against the same glibc.
FROM rust:1-bookworm AS build
WORKDIR /src

# Everything the build reads (Cargo.toml, Cargo.lock, src/, templates/ and migrations/ embedded at
# compile time, benches/ named in Cargo.toml); .dockerignore keeps target/, caches and
# node_modules out of the context.
COPY . .

# --locked: exactly the dependency versions in Cargo.lock, or fail. The registry and target
# directories are BuildKit cache mounts, so the binary is copied out within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin vestibule \
    && install -D -m 0755 target/release/vestibule /out/vestibule

# ---- runtime --------------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

LABEL org.opencontainers.image.title="vestibule" \
      org.opencontainers.image.description="Self-hosted, Kubernetes-native authentication platform" \
      org.opencontainers.image.licenses="Apache-2.0"

# Only the binary: templates, migrations and the CRD schemas are compiled into it.
COPY --from=build /out/vestibule /usr/local/bin/vestibule

# distroless' nonroot user; numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /home/nonroot

# `vestibule server` listens on 8080 (the operator's metrics and probes use 8081).
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/vestibule"]
CMD ["server"]
