package compat_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

func TestZZDebug(t *testing.T) {
	c := cluster.Start(t, 1)
	cmd := exec.Command("/bin/sh", "-c", os.Getenv("DEBUG_CMD"))
	cmd.Env = append(os.Environ(), "BOOT="+c.Bootstrap(), "ZKC="+c.Connect)
	out, _ := cmd.CombinedOutput()
	os.WriteFile("/tmp/full.log", out, 0o644)
	data, _ := os.ReadFile(c.Broker(0).LogFile)
	os.WriteFile("/tmp/broker.log", data, 0o644)
}
