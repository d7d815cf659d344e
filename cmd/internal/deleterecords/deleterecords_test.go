package deleterecords

import (
	"testing"
)

func TestParseOffsets(t *testing.T) {
	cases := []struct {
		name, json, wantErr string
		want                int
	}{
		{"good", `{"partitions":[{"topic":"t","partition":0,"offset":5},{"topic":"t","partition":1,"offset":-1}],"version":1}`, "", 2},
		{"no version means 1", `{"partitions":[{"topic":"t","partition":0,"offset":5}]}`, "", 1},
		{"not json", `{`, "The input string is not a valid JSON", 0},
		{"bad version", `{"partitions":[],"version":2}`, "Not supported version field value 2", 0},
		{"missing partitions", `{"version":1}`, "Missing partitions field", 0},
		{"duplicates", `{"partitions":[{"topic":"t","partition":0,"offset":5},{"topic":"t","partition":0,"offset":6}]}`, "Offset json file contains duplicate topic partitions: t-0", 0},
	}
	for _, c := range cases {
		got, err := parseOffsets([]byte(c.json))
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		n := 0
		for _, ps := range got {
			n += len(ps)
		}
		if n != c.want {
			t.Errorf("%s: %d partitions, want %d", c.name, n, c.want)
		}
	}
}
