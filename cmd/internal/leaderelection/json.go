package leaderelection

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

func newDecoder(data string) *json.Decoder {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	return dec
}

func mappingError(msg string) *cli.JavaError {
	return &cli.JavaError{Class: "java.lang.RuntimeException", Msg: "com.fasterxml.jackson.databind.JsonMappingException: " + msg}
}

// nodeText is how a Jackson JsonNode prints in error messages.
func nodeText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func parsePartition(e any) (tp, error) {
	o, ok := e.(map[string]any)
	if !ok {
		return tp{}, mappingError("Expected JSON object, received " + nodeText(e))
	}
	tv, ok := o["topic"]
	if !ok {
		return tp{}, mappingError("No such field exists: `topic`")
	}
	topic, ok := tv.(string)
	if !ok {
		return tp{}, mappingError("Expected `String` value, received " + nodeText(tv))
	}
	pv, ok := o["partition"]
	if !ok {
		return tp{}, mappingError("No such field exists: `partition`")
	}
	n, ok := pv.(json.Number)
	var p int64
	var err error
	if ok {
		p, err = n.Int64()
	}
	if !ok || err != nil || p < math.MinInt32 || p > math.MaxInt32 {
		return tp{}, mappingError("Expected `Integer` value, received " + nodeText(pv))
	}
	return tp{Topic: topic, Partition: int32(p)}, nil
}
