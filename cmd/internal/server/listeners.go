package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kafkazk/kafkazk/broker"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// checkEndpointsFree is KafkaServer.createBrokerInfo's start-up check: no
// other registered broker may have an endpoint (host:port) among this
// broker's configured advertised listeners. A host left empty counts as
// "null", as Scala prints it.
func checkEndpointsFree(zk *zkmeta.Client, self int32, advertised []broker.Listener) error {
	others, err := zk.Brokers()
	if err != nil {
		return fmt.Errorf("reading the registered brokers: %w", err)
	}
	hostPort := func(host string, port int32) string {
		if host == "" {
			host = "null"
		}
		return host + ":" + strconv.Itoa(int(port))
	}
	for _, b := range others {
		if b.ID == self {
			continue
		}
		theirs := map[string]bool{}
		for _, ep := range b.ListenerEndpoints() {
			theirs[hostPort(ep.Host, ep.Port)] = true
		}
		var common []string
		for _, l := range advertised {
			if hp := hostPort(l.Host, l.Port); theirs[hp] {
				common = append(common, hp)
			}
		}
		if len(common) > 0 {
			return fmt.Errorf("requirement failed: Configured end points %s in advertised listeners are already registered by broker %d", strings.Join(common, ","), b.ID)
		}
	}
	return nil
}
