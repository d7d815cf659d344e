// Package kafkadiff_test holds the compat tests that start a real Apache
// Kafka 3.9 broker (compat-tests/cluster.StartKafkaRef) beside ours and
// compare the two: wire answers, znodes, tool output, disk formats, SASL,
// ACLs, listeners, faults. They are their own package so that each of the
// two compat-test binaries stays well inside `make compat`'s 15-minute
// `go test -timeout` (the JVMs dominate their run time); the helpers both
// packages use live in compat-tests/internal.
package kafkadiff_test
