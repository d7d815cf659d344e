// Package dockerenv completes a broker configuration given by nothing but
// KAFKA_* environment variables, as the container image runs it (`kafka
// docker-entrypoint`): the image's default log directory, and advertised
// listeners derived from the listeners the way Kafka derives them.
package dockerenv

import (
	"fmt"
	"net"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/config"
)

// DefaultLogDir holds the partition logs unless KAFKA_LOG_DIRS (or
// KAFKA_LOG_DIR) names another place; the image declares it a volume. The
// path is cp-kafka's.
const DefaultLogDir = "/var/lib/kafka/data"

// defaultListener is Kafka's default for listeners.
const defaultListener = "PLAINTEXT://:9092"

// Overrides returns the key=value settings to lay over the environment env
// (os.Environ()-shaped) so that it alone configures a broker on a host named
// hostname. It only fills in what env leaves out:
//   - log.dirs: DefaultLogDir;
//   - advertised.listeners: the listeners, a listener without a host
//     advertised under hostname, as Kafka advertises its canonical host
//     name. Like Kafka, it refuses to advertise the meta-address 0.0.0.0:
//     a broker listening on 0.0.0.0 must be given KAFKA_ADVERTISED_LISTENERS.
//
// A malformed listener is left for the configuration loader to report.
func Overrides(env []string, hostname string) ([]string, error) {
	set := config.EnvOverrides(env)
	var out []string
	_, dir := set["log.dir"]
	_, dirs := set["log.dirs"]
	if !dir && !dirs {
		out = append(out, "log.dirs="+DefaultLogDir)
	}
	if _, ok := set["advertised.listeners"]; ok {
		return out, nil
	}
	listeners, ok := set["listeners"]
	if !ok {
		listeners = defaultListener
	}
	var advertised []string
	for _, l := range strings.Split(listeners, ",") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		name, hostPort, ok := strings.Cut(l, "://")
		if !ok {
			return out, nil
		}
		host, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			return out, nil
		}
		switch host {
		case "":
			if hostname == "" {
				return nil, fmt.Errorf("listener %s has no host and this host has no name: set KAFKA_ADVERTISED_LISTENERS", l)
			}
			host = hostname
		case "0.0.0.0", "::":
			return nil, fmt.Errorf("invalid value %q for configuration advertised.listeners (from listeners): advertised.listeners cannot use the nonroutable meta-address %s. Use a routable IP address; set KAFKA_ADVERTISED_LISTENERS", listeners, host)
		}
		advertised = append(advertised, name+"://"+net.JoinHostPort(host, port))
	}
	if len(advertised) > 0 {
		out = append(out, "advertised.listeners="+strings.Join(advertised, ","))
	}
	return out, nil
}
