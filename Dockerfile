# Multi-stage build of the broker and its tools.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/kafka ./cmd/kafka \
 && cd /out && for t in $(./kafka --list-tools); do ln -s kafka "$t"; done

FROM debian:bookworm-slim
COPY --from=build /out/ /opt/kafka/bin/
COPY config/server.properties /opt/kafka/config/server.properties
ENV PATH=/opt/kafka/bin:$PATH
EXPOSE 9092
# Configure with KAFKA_* environment variables (KAFKA_BROKER_ID, KAFKA_ZOOKEEPER_CONNECT, ...).
CMD ["kafka-server-start.sh", "/opt/kafka/config/server.properties"]
