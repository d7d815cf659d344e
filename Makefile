# The two commands a user needs: `make run` and `make test`.
GO      ?= go
# Packages with concurrency run under the race detector.
RACE_PKGS := ./storage/... ./zkmeta/... ./protocol/... ./broker/... ./controller/... ./cmd/...

.PHONY: all build run test unit compat compat-clients vet fmt-check compose-check bench fuzz deps clean

all: build

build:
	@mkdir -p bin
	$(GO) build -o bin/kafka ./cmd/kafka
	@for t in $$(bin/kafka --list-tools); do ln -sf kafka bin/$$t; done

run: build
	scripts/run.sh

deps:
	scripts/deps.sh all

vet:
	$(GO) vet ./...
	cd compat-tests/clients && $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 $(RACE_PKGS)

# Every compat-test package, each binary within the 15-minute timeout: compat-tests (our cluster with real
# clients and tools), compat-tests/kafkadiff (the tests that start Apache Kafka 3.9 beside ours and compare),
# compat-tests/checker, cluster, soak (the soak itself only runs under `make soak`).
compat: build
	KAFKA_BIN=$(CURDIR)/bin/kafka $(GO) test -count=1 -timeout 15m ./compat-tests/...

# The client compatibility matrix: every client x feature against ZooKeeper and three brokers
# (compat-tests/clients, its own Go module so the clients' dependencies stay out of the broker's);
# fails if a cell expected-matrix.md marks pass now fails; the matrix lands in var/client-matrix.md.
compat-clients: build
	@mkdir -p var
	cd compat-tests/clients && KAFKA_BIN=$(CURDIR)/bin/kafka MATRIX_OUT=$(CURDIR)/var/client-matrix.md \
		$(GO) test -count=1 -timeout 15m ./...
	@cat var/client-matrix.md

# The compose file validates (OS package docker-compose, from `make deps`); no Docker engine needed.
compose-check: deps
	docker-compose -f docker-compose.yml config -q

# Unit, integration and compat tests; fuzz targets run on their checked-in corpus.
test: deps build fmt-check vet compose-check unit compat compat-clients

# Not part of `make test`: >= SOAK_DURATION (default 10m) and >= SOAK_FAULTS (default 100) random faults,
# one broker or several at once, under an acks=all idempotent load on five brokers, then the checker's
# verdict; the seed is printed at the start, SOAK_SEED=<seed> replays its schedule.
SOAK_DURATION ?= 10m
SOAK_FAULTS   ?= 100
.PHONY: soak
soak: build
	KAFKA_BIN=$(CURDIR)/bin/kafka SOAK_DURATION=$(SOAK_DURATION) SOAK_FAULTS=$(SOAK_FAULTS) SOAK_SEED=$(SOAK_SEED) \
		$(GO) test -count=1 -v -run '^TestSoak$$' -timeout 90m ./compat-tests/soak/

# The 30-minute soak: >= 30 minutes and >= 300 faults (SOAK_SEED replays a schedule).
.PHONY: soak-long
soak-long: build
	KAFKA_BIN=$(CURDIR)/bin/kafka SOAK_DURATION=30m SOAK_FAULTS=300 SOAK_SEED=$(SOAK_SEED) \
		$(GO) test -count=1 -v -run '^TestSoak$$' -timeout 180m ./compat-tests/soak/

# Start-up time and idle memory (100 partitions) of one broker, broker throughput and latency against kfake
# and Apache Kafka 3.9 (var/kafka-3.9/lib; its column is skipped with a note when missing), then the
# storage engine's benchmarks (append vs plain write(2), offset lookup in a full segment, recovery, compaction,
# open + producer-state load of a 1 GiB idempotent log with and without snapshots).
bench: deps build
	KAFKA_BIN=$(CURDIR)/bin/kafka $(GO) run ./bench/startup
	KAFKA_BIN=$(CURDIR)/bin/kafka $(GO) run ./bench/throughput
	$(GO) test -run '^$$' -bench 'Append1KiB|WriteSyscall1KiB|OffsetLookupFullSegment|Recovery|Compaction' -benchtime 2s ./storage/
	KAFKAZK_BENCH_1GIB=1 $(GO) test -run '^$$' -bench 'ProducerStateLoad1GiB' -benchtime 3x ./storage/

# Each fuzz target for FUZZTIME. FuzzParseRequest, FuzzValidateBatches and FuzzRecords also fail on an
# input that costs more than a few milliseconds or a small multiple of its size in memory (issue 15).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseRequest -fuzztime $(FUZZTIME) ./protocol/
	$(GO) test -run '^$$' -fuzz FuzzValidateBatches -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run '^$$' -fuzz FuzzRecovery -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run '^$$' -fuzz FuzzRecords -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run '^$$' -fuzz FuzzConvertLegacyMessageSet -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run '^$$' -fuzz FuzzDownConvert -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run '^$$' -fuzz FuzzDecodeProducerSnapshot -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run '^$$' -fuzz FuzzParseRecords -fuzztime $(FUZZTIME) ./broker/group/
	for f in $$($(GO) test -list '^FuzzDecode' ./zkmeta/ | grep '^Fuzz'); do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s ./zkmeta/ || exit 1; done

clean:
	rm -rf bin var
