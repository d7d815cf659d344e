package controller

import (
	"testing"
)

// KafkaController's ControllerChangeHandler: deleting /controller (how an
// operator forces a controller election) makes the sitting controller
// resign and elect again (processReelect), with a new controller epoch;
// it never goes on acting without the znode.
func TestControllerZnodeDeletedReelects(t *testing.T) {
	tc := newTestCluster(t, 1)
	tc.start(Config{BrokerID: 1})
	before, _, err := tc.zk.ControllerEpoch()
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.zk.Delete("/controller", -1); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("a new controller epoch", func() bool {
		epoch, _, err := tc.zk.ControllerEpoch()
		return err == nil && epoch > before
	})
	tc.waitFor("/controller back, held by broker 1", func() bool {
		info, ok, err := tc.zk.Controller()
		return err == nil && ok && info.BrokerID == 1
	})
	tc.waitFor("controller active again", func() bool { return tc.c.Active() })
	var epoch int32
	tc.onLoop(func() { epoch = tc.c.epoch })
	if epoch <= before {
		t.Fatalf("acting in controller epoch %d, want above %d", epoch, before)
	}
}
