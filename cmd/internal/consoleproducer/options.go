package consoleproducer

import (
	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// The options of Kafka 3.7's ConsoleProducer.ProducerConfig (plus --help/--version).
var optSpecs = []cli.Option{
	{Name: "batch-size", Desc: "Number of messages to send in a single batch if they are not being sent synchronously. please note that this option will be replaced if max-partition-memory-bytes is also set", TakesArg: true, ArgType: "Integer", ArgDesc: "size", Default: "16384"},
	{Name: "bootstrap-server", Desc: "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to. The broker list string in the form HOST1:PORT1,HOST2:PORT2.", TakesArg: true, ArgType: "String", ArgDesc: "server to connect to"},
	{Name: "broker-list", Desc: "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified.  The broker list string in the form HOST1:PORT1,HOST2:PORT2.", TakesArg: true, ArgType: "String", ArgDesc: "broker-list"},
	{Name: "compression-codec", Desc: "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'.If specified without value, then it defaults to 'gzip'", OptionalArg: true, ArgType: "String", ArgDesc: "compression-codec"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "line-reader", Desc: "The class name of the class to use for reading lines from standard in. By default each line is read as a separate message.", TakesArg: true, ArgType: "String", ArgDesc: "reader_class", Default: lineReaderClass},
	{Name: "max-block-ms", Desc: "The max time that the producer will block for during a send request.", TakesArg: true, ArgType: "Long", ArgDesc: "max block on send", Default: "60000"},
	{Name: "max-memory-bytes", Desc: "The total memory used by the producer to buffer records waiting to be sent to the server. This is the option to control `buffer.memory` in producer configs.", TakesArg: true, ArgType: "Long", ArgDesc: "total memory in bytes", Default: "33554432"},
	{Name: "max-partition-memory-bytes", Desc: "The buffer size allocated for a partition. When records are received which are smaller than this size the producer will attempt to optimistically group them together until this size is reached. This is the option to control `batch.size` in producer configs.", TakesArg: true, ArgType: "Integer", ArgDesc: "memory in bytes per partition", Default: "16384"},
	{Name: "message-send-max-retries", Desc: "Brokers can fail receiving the message for multiple reasons, and being unavailable transiently is just one of them. This property specifies the number of retries before the producer give up and drop this message. This is the option to control `retries` in producer configs.", TakesArg: true, ArgType: "Integer", Default: "3"},
	{Name: "metadata-expiry-ms", Desc: "The period of time in milliseconds after which we force a refresh of metadata even if we haven't seen any leadership changes. This is the option to control `metadata.max.age.ms` in producer configs.", TakesArg: true, ArgType: "Long", ArgDesc: "metadata expiration interval", Default: "300000"},
	{Name: "producer-property", Desc: "A mechanism to pass user-defined properties in the form key=value to the producer. ", TakesArg: true, ArgType: "String", ArgDesc: "producer_prop"},
	{Name: "producer.config", Desc: "Producer config properties file. Note that [producer-property] takes precedence over this config.", TakesArg: true, ArgType: "String", ArgDesc: "config file"},
	{Name: "property", Desc: "A mechanism to pass user-defined properties in the form key=value to the message reader. This allows custom configuration for a user-defined message reader.\nDefault properties include:\n parse.key=false\n parse.headers=false\n ignore.error=false\n key.separator=\\t\n headers.delimiter=\\t\n headers.separator=,\n headers.key.separator=:\n null.marker=   When set, any fields (key, value and headers) equal to this will be replaced by null\nDefault parsing pattern when:\n parse.headers=true and parse.key=true:\n  \"h1:v1,h2:v2...\\tkey\\tvalue\"\n parse.key=true:\n  \"key\\tvalue\"\n parse.headers=true:\n  \"h1:v1,h2:v2...\\tvalue\"", TakesArg: true, ArgType: "String", ArgDesc: "prop"},
	{Name: "reader-config", Desc: "Config properties file for the message reader. Note that [property] takes precedence over this config.", TakesArg: true, ArgType: "String", ArgDesc: "config file"},
	{Name: "request-required-acks", Desc: "The required `acks` of the producer requests", TakesArg: true, ArgType: "String", ArgDesc: "request required acks", Default: "-1"},
	{Name: "request-timeout-ms", Desc: "The ack timeout of the producer requests. Value must be non-negative and non-zero.", TakesArg: true, ArgType: "Integer", ArgDesc: "request timeout ms", Default: "1500"},
	{Name: "retry-backoff-ms", Desc: "Before each retry, the producer refreshes the metadata of relevant topics. Since leader election takes a bit of time, this property specifies the amount of time that the producer waits before refreshing the metadata. This is the option to control `retry.backoff.ms` in producer configs.", TakesArg: true, ArgType: "Long", Default: "100"},
	{Name: "socket-buffer-size", Desc: "The size of the tcp RECV size. This is the option to control `send.buffer.bytes` in producer configs.", TakesArg: true, ArgType: "Integer", ArgDesc: "size", Default: "102400"},
	{Name: "sync", Desc: "If set message send requests to the brokers are synchronously, one at a time as they arrive."},
	{Name: "timeout", Desc: "If set and the producer is running in asynchronous mode, this gives the maximum amount of time a message will queue awaiting sufficient batch size. The value is given in ms. This is the option to control `linger.ms` in producer configs.", TakesArg: true, ArgType: "Long", ArgDesc: "timeout_ms", Default: "1000"},
	{Name: "topic", Desc: "REQUIRED: The topic id to produce messages to.", TakesArg: true, ArgType: "String", ArgDesc: "topic"},
	{Name: "version", Desc: "Display Kafka version."},
}

const lineReaderClass = "kafka.tools.ConsoleProducer$LineMessageReader"

// mergedOptions are CommandLineUtils.maybeMergeOptions calls: option, producer config key, and the
// option's type for conversion ("" for String).
var mergedOptions = []struct{ opt, key, typ string }{
	{"timeout", "linger.ms", "Long"},
	{"request-required-acks", "acks", ""},
	{"request-timeout-ms", "request.timeout.ms", "Integer"},
	{"message-send-max-retries", "retries", "Integer"},
	{"retry-backoff-ms", "retry.backoff.ms", "Long"},
	{"socket-buffer-size", "send.buffer.bytes", "Integer"},
	{"max-memory-bytes", "buffer.memory", "Long"},
	{"batch-size", "batch.size", "Integer"},
	{"max-partition-memory-bytes", "batch.size", "Integer"},
	{"metadata-expiry-ms", "metadata.max.age.ms", "Long"},
	{"max-block-ms", "max.block.ms", "Long"},
}

func defaultOf(name string) string {
	for _, s := range optSpecs {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}
