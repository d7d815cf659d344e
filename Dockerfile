# The broker image: bin/kafka and every tool under Kafka's script names in /opt/kafka/bin (as in Kafka's
# images), started by `kafka docker-entrypoint` and configured by KAFKA_* environment variables alone
# (KAFKA_BROKER_ID, KAFKA_ZOOKEEPER_CONNECT, KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS, ...; see README).
#   docker build -t kafkazk .
#   docker run -e KAFKA_ZOOKEEPER_CONNECT=zk:2181/kafka -e KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka:9092 kafkazk
#   docker run --rm kafkazk kafka-topics.sh --bootstrap-server kafka:9092 --list

# Build with the Go release that go.mod asks for (go 1.26); the binary is static (CGO_ENABLED=0).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/opt/kafka/bin/kafka ./cmd/kafka \
 && cd /out/opt/kafka/bin && for t in $(./kafka --list-tools); do ln -s kafka "$t"; done \
 && mkdir -p /out/var/lib/kafka/data

# Run from distroless: no shell, no libc, user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/opt/kafka/ /opt/kafka/
# The default log dir, owned by the broker's user, so a fresh named volume mounted there is writable.
COPY --from=build --chown=65532:65532 /out/var/lib/kafka/ /var/lib/kafka/
ENV PATH=/opt/kafka/bin:/usr/local/bin:/usr/bin:/bin
WORKDIR /opt/kafka
VOLUME ["/var/lib/kafka/data"]
EXPOSE 9092
# SIGTERM (docker stop) is a controlled shutdown: give it more than Docker's default 10 s (stop_grace_period).
CMD ["/opt/kafka/bin/kafka", "docker-entrypoint"]
