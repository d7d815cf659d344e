package zkmeta

import (
	"fmt"

	"github.com/go-zookeeper/zk"
)

// EventType is what a watch reports (ZooKeeper's Watcher.Event.EventType).
type EventType int

const (
	EventNone                EventType = iota // not a znode event
	EventNodeCreated                          // an exists watch's znode was created
	EventNodeDeleted                          // the znode was deleted
	EventNodeDataChanged                      // the znode's data was set
	EventNodeChildrenChanged                  // a child was created or deleted
	EventSession                              // the session's state changed (State says to what)
	EventNotWatching                          // the watch was dropped (Err says why: session expired, client closed)
)

var eventTypeNames = [...]string{"None", "NodeCreated", "NodeDeleted", "NodeDataChanged",
	"NodeChildrenChanged", "Session", "NotWatching"}

func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventTypeNames) {
		return eventTypeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// State is a session's state as the connection sees it (ZooKeeper's Watcher.Event.KeeperState).
type State int

const (
	StateUnknown      State = iota
	StateDisconnected       // the connection is down; the session may live on
	StateConnecting         // connecting to a server
	StateConnected          // connected, the session not yet confirmed
	StateHasSession         // the server has given or confirmed the session
	StateExpired            // the server expired the session
	StateAuthFailed         // authentication failed
)

var stateNames = [...]string{"Unknown", "Disconnected", "Connecting", "Connected", "HasSession", "Expired", "AuthFailed"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Event is one watch notification. A watch channel delivers at most one znode event and is then closed;
// it may instead deliver EventNotWatching (or just close) when the session or client ends.
type Event struct {
	Type  EventType
	State State
	Path  string // chroot-relative; "" for session events
	Err   error  // with EventNotWatching: why (wraps ErrSessionExpired, ErrClosing...)
}

func eventFromZK(ev zk.Event) Event {
	out := Event{Path: ev.Path, Err: classify(ev.Err)}
	switch ev.Type {
	case zk.EventNodeCreated:
		out.Type = EventNodeCreated
	case zk.EventNodeDeleted:
		out.Type = EventNodeDeleted
	case zk.EventNodeDataChanged:
		out.Type = EventNodeDataChanged
	case zk.EventNodeChildrenChanged:
		out.Type = EventNodeChildrenChanged
	case zk.EventSession:
		out.Type = EventSession
	case zk.EventNotWatching:
		out.Type = EventNotWatching
	}
	out.State = stateFromZK(ev.State)
	return out
}

func stateFromZK(s zk.State) State {
	switch s {
	case zk.StateDisconnected:
		return StateDisconnected
	case zk.StateConnecting:
		return StateConnecting
	case zk.StateConnected, zk.StateSyncConnected, zk.StateConnectedReadOnly:
		return StateConnected
	case zk.StateHasSession:
		return StateHasSession
	case zk.StateExpired:
		return StateExpired
	case zk.StateAuthFailed:
		return StateAuthFailed
	}
	return StateUnknown
}

// Stat is a znode's metadata (ZooKeeper's Stat).
type Stat struct {
	Czxid          int64 // the zxid of the change that created it
	Mzxid          int64 // the zxid of the change that last modified it
	Ctime          int64 // ms since the epoch, when it was created
	Mtime          int64 // ms since the epoch, when it was last modified
	Version        int32 // data version
	Cversion       int32 // children version
	Aversion       int32 // ACL version
	EphemeralOwner int64 // the owning session's id for an ephemeral znode, else 0
	DataLength     int32
	NumChildren    int32
	Pzxid          int64 // the zxid of the change that last modified its children
}

func statFromZK(st *zk.Stat) *Stat {
	if st == nil {
		return nil
	}
	return &Stat{Czxid: st.Czxid, Mzxid: st.Mzxid, Ctime: st.Ctime, Mtime: st.Mtime, Version: st.Version,
		Cversion: st.Cversion, Aversion: st.Aversion, EphemeralOwner: st.EphemeralOwner,
		DataLength: st.DataLength, NumChildren: st.NumChildren, Pzxid: st.Pzxid}
}

// CreateMode is ZooKeeper's CreateMode: whether a znode is ephemeral and/or sequential.
type CreateMode int32

const (
	Persistent           CreateMode = iota // stays until deleted
	Ephemeral                              // goes away with the creating session
	PersistentSequential                   // persistent, its name suffixed with a 10-digit sequence number
	EphemeralSequential                    // both
)

func (m CreateMode) flags() int32 {
	switch m {
	case Ephemeral:
		return zk.FlagEphemeral
	case PersistentSequential:
		return zk.FlagSequence
	case EphemeralSequential:
		return zk.FlagEphemeral | zk.FlagSequence
	}
	return zk.FlagPersistent
}
