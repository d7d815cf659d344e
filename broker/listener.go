package broker

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseListener splits a Kafka listener "NAME://host:port" into its name and
// host:port. Only PLAINTEXT and SASL_PLAINTEXT (the listener named so) are
// served today.
func ParseListener(l string) (name, hostPort string, err error) {
	name, hostPort, ok := strings.Cut(l, "://")
	if !ok {
		return "", "", fmt.Errorf("listener %q is not of the form NAME://host:port", l)
	}
	if name != "PLAINTEXT" && name != "SSL" && name != "SASL_PLAINTEXT" { // SSL: tls.go; SASL_PLAINTEXT: sasl_conn.go
		return "", "", fmt.Errorf("listener %q: only PLAINTEXT, SSL and SASL_PLAINTEXT listeners are supported", l)
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", "", fmt.Errorf("listener %q: %w", l, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", "", fmt.Errorf("listener %q: bad port %q", l, port)
	}
	return name, net.JoinHostPort(host, port), nil
}
