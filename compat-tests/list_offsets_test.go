package compat_test

import (
	"testing"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// TestKafkaPythonListOffsets: kafka-python 2.0.2 asks beginning and end
// offsets with ListOffsets v0 (max_num_offsets 1, as Burrow does) when
// configured for 0.10.0, v1 from 0.10.1, and offsets_for_times with v1.
func TestKafkaPythonListOffsets(t *testing.T) {
	need(t, python)
	c := cluster.Start(t, 1)
	pythonScript(t, c, "kafka_python_list_offsets.py", "py-list-offsets", "100")
}
