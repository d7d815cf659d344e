package zkmeta

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ConfigChangePrefix names the sequential notifications under /config/changes.
const ConfigChangePrefix = "config_change_"

// ConfigChangeSeq is the sequence number of a notification's name
// (config_change_0000000042 is 42); false for any other name.
func ConfigChangeSeq(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, ConfigChangePrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil
}

// PurgeConfigChanges deletes the notifications among names created before
// cutoff, as every broker's ZkNodeChangeNotificationListener does for those
// older than 15 minutes. A notification already gone is not an error.
func (c *Client) PurgeConfigChanges(names []string, cutoff time.Time) error {
	for _, n := range names {
		p := c.abs(ConfigChangesPath + "/" + n)
		_, st, err := c.conn.Get(p)
		if errors.Is(err, ErrNoNode) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get %s/%s: %w", ConfigChangesPath, n, classify(err))
		}
		if time.UnixMilli(st.Ctime).After(cutoff) {
			continue
		}
		if err := c.conn.Delete(p, -1); err != nil && !errors.Is(err, ErrNoNode) {
			return fmt.Errorf("delete %s/%s: %w", ConfigChangesPath, n, classify(err))
		}
	}
	return nil
}
