package config

import (
	"log/slog"
	"strings"
	"testing"
)

// SocketServerConfigs and KafkaConfig.validateValues for the connection
// and request limits: defaults, types, atLeast bounds, the memory pool's
// lower bound, and listener-prefixed max.connections.
func TestRequestLimitKeys(t *testing.T) {
	cases := []struct {
		name    string
		props   string
		wantErr string
		check   func(t *testing.T, idle int64, queued int, poolBytes int64)
	}{
		{name: "defaults", check: func(t *testing.T, idle int64, queued int, poolBytes int64) {
			if idle != 600000 || queued != 500 || poolBytes != -1 {
				t.Errorf("defaults idle %d queued %d pool %d, want 600000 500 -1", idle, queued, poolBytes)
			}
		}},
		{name: "set", props: "connections.max.idle.ms=-1\nqueued.max.requests=7\nqueued.max.request.bytes=104857600\n",
			check: func(t *testing.T, idle int64, queued int, poolBytes int64) {
				if idle != -1 || queued != 7 || poolBytes != 104857600 {
					t.Errorf("got idle %d queued %d pool %d", idle, queued, poolBytes)
				}
			}},
		{name: "pool below the request size", props: "queued.max.request.bytes=1000\n",
			wantErr: "queued.max.request.bytes must be larger or equal to socket.request.max.bytes"},
		{name: "pool of zero is unbounded", props: "queued.max.request.bytes=0\n"},
		{name: "queued.max.requests atLeast(1)", props: "queued.max.requests=0\n", wantErr: "queued.max.requests"},
		{name: "max.connections atLeast(0)", props: "max.connections=-1\n", wantErr: "max.connections"},
		{name: "listener max.connections atLeast(0)", props: "listener.name.plaintext.max.connections=-5\n",
			wantErr: "listener.name.plaintext.max.connections"},
		{name: "listener max.connections", props: "listener.name.plaintext.max.connections=5\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warnings strings.Builder
			path := writeProps(t, "broker.id=1\nzookeeper.connect=h:2181\n"+tc.props)
			c, err := Load(path, nil, nil, slog.New(slog.NewTextHandler(&warnings, nil)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if warnings.Len() != 0 {
				t.Errorf("warnings: %s", warnings.String())
			}
			if tc.check != nil {
				tc.check(t, c.ConnectionsMaxIdleMs, c.QueuedMaxRequests, c.QueuedMaxRequestBytes)
			}
		})
	}
}
