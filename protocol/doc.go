// Package protocol implements the Kafka wire format used by the broker and the
// controller: size-prefixed frames, request headers, request decoding and
// response encoding with kmsg, a response writer that mixes encoded bytes
// with file ranges sent by sendfile (zero-copy Fetch), and a small
// inter-broker client. It imports nothing from the project.
package protocol
