package consoleproducer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	s := func(v string) []byte { return []byte(v) }
	for _, c := range []struct {
		props map[string]string
		line  string
		want  *record
		err   string
	}{
		{nil, "hello world", &record{Value: s("hello world")}, ""},
		{nil, "", &record{Value: s("")}, ""},
		{map[string]string{"parse.key": "true", "key.separator": ":"}, "k1:v:1", &record{Key: s("k1"), Value: s("v:1")}, ""},
		{map[string]string{"parse.key": "TRUE "}, "k\tv", &record{Key: s("k"), Value: s("v")}, ""},
		{map[string]string{"parse.key": "true", "key.separator": ":"}, "novalue", nil, "No key separator found on line number 1: 'novalue'"},
		{map[string]string{"parse.key": "true", "key.separator": ":", "ignore.error": "true"}, "novalue", &record{Value: s("novalue")}, ""},
		{map[string]string{"parse.key": "true", "key.separator": ":", "null.marker": "<null>"}, "<null>:<null>", &record{}, ""},
		{map[string]string{"parse.headers": "true", "parse.key": "true"}, "h1:v1,h2:\tk\tv",
			&record{Key: s("k"), Value: s("v"), Headers: []header{{"h1", s("v1")}, {"h2", s("")}}}, ""},
		{map[string]string{"parse.headers": "true", "null.marker": "N"}, "h1:N\tv", &record{Value: s("v"), Headers: []header{{"h1", nil}}}, ""},
		{map[string]string{"parse.headers": "true"}, "h1\tv", nil, "No header key separator found in pair 'h1' on line number 1"},
		{map[string]string{"parse.headers": "true", "null.marker": "N"}, "N:x\tv", nil, "Header keys should not be equal to the null marker 'N' as they can't be null"},
		{map[string]string{"headers.delimiter": ","}, "x", nil, "headers.delimiter and headers.separator may not be equal"},
		{map[string]string{"null.marker": "\t"}, "x", nil, "null.marker and key.separator may not be equal"},
	} {
		t.Run(fmt.Sprintf("%v %q", c.props, c.line), func(t *testing.T) {
			r, err := newLineReader(c.props)
			var rec *record
			if err == nil {
				r.lineNumber = 1
				rec, err = r.record(c.line)
			}
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q %q %v", rec.Key, rec.Value, rec.Headers) != fmt.Sprintf("%q %q %v", c.want.Key, c.want.Value, c.want.Headers) ||
				(rec.Key == nil) != (c.want.Key == nil) || (rec.Value == nil) != (c.want.Value == nil) {
				t.Errorf("got %+v, want %+v", rec, c.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	l := newLines(strings.NewReader("a\r\nb\rc\n\nd\xffe\r"))
	var got []string
	for {
		line, ok, err := l.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, line)
	}
	if want := []string{"a", "b", "c", "", "d\uFFFDe"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig([]string{"--bootstrap-server", "h:1", "--topic", "t", "--property", "parse.key=true",
		"--producer-property", "acks=1", "--producer-property", "linger.ms=5", "--request-required-acks", "all", "--compression-codec"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An explicit option wins over --producer-property; a default does not.
	for k, want := range map[string]string{"acks": "all", "linger.ms": "5", "compression.type": "gzip", "client.id": "console-producer",
		"request.timeout.ms": "1500", "retries": "3", "batch.size": "16384", "bootstrap.servers": "h:1"} {
		if cfg.props[k] != want {
			t.Errorf("%s = %q, want %q", k, cfg.props[k], want)
		}
	}
	if cfg.readerProps["topic"] != "t" || cfg.readerProps["parse.key"] != "true" {
		t.Errorf("reader props %v", cfg.readerProps)
	}
	if _, err := producerOpts(cfg.props); err != nil {
		t.Errorf("producer options: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "Missing required option(s) [bootstrap-server]"},
		{[]string{"--bootstrap-server", "h:1"}, `Missing required argument "[topic]"`},
		{[]string{"--bootstrap-server", "nohost", "--topic", "t"}, "Please provide valid host:port like host1:9091,host2:9092\n "},
		{[]string{"--help"}, msgHelp},
		{[]string{"--bootstrap-server", "h:1", "--topic", "t", "--bogus"}, "bogus is not a recognized option"},
		{[]string{"--bootstrap-server", "h:1", "--topic", "t", "--batch-size", "x"}, "Cannot parse argument 'x' of option batch-size"},
	} {
		if _, err := parseConfig(c.args, nil); err == nil || err.Error() != c.want {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := producerOpts(map[string]string{"acks": "2"}); err == nil || err.Error() != "Invalid value 2 for configuration acks: String must be one of: all, -1, 0, 1" {
		t.Errorf("acks=2: %v", err)
	}
	if _, err := producerOpts(map[string]string{"acks": "1", "enable.idempotence": "true"}); err == nil {
		t.Error("acks=1 with idempotence accepted")
	}
	// The security keys (cli.SecurityOpts): TLS and SASL options, errors as ConfigException naming the key.
	for _, c := range []struct {
		props map[string]string
		opts  int // beyond the plain producer's
		want  string
	}{
		{props: map[string]string{"security.protocol": "SSL"}, opts: 1},
		{props: map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
			"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`}, opts: 2},
		{props: map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PKCS12", "ssl.truststore.location": "/nonexistent.p12"},
			want: "for configuration ssl.truststore.location: Failed to load SSL keystore /nonexistent.p12 of type PKCS12"},
		{props: map[string]string{"security.protocol": "ssl2"}, want: "Invalid value ssl2 for configuration security.protocol"},
	} {
		base, err := producerOpts(map[string]string{})
		if err != nil {
			t.Fatal(err)
		}
		opts, err := producerOpts(c.props)
		var ce *configException
		switch {
		case c.want != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want a ConfigException with %q", c.props, err, c.want)
		case c.want == "" && (err != nil || len(opts) != len(base)+c.opts):
			t.Errorf("%v: %d options (plain %d), %v", c.props, len(opts), len(base), err)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"--bootstrap-server", "h:1"}, strings.NewReader(""), &out, &errOut, false)
	if code != 1 || !strings.HasPrefix(errOut.String(), "Missing required argument \"[topic]\"\nOption ") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"--version"}, nil, &out, &errOut, false); code != 0 || out.String() != "3.7.0\n" {
		t.Errorf("--version: exit %d %q", code, out.String())
	}
}
