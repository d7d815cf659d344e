package zkmeta

import (
	"errors"

	"github.com/go-zookeeper/zk"
)

// Sentinel errors; every error returned by this package that means one of these wraps it (errors.Is).
// Callers test ZooKeeper's error codes (KeeperException.Code) only through these, never through the
// ZooKeeper client library's own values.
var (
	ErrBrokerIDRegistered = errors.New("broker id is already registered")
	ErrTopicExists        = errors.New("topic already exists")
	ErrTopicMarked        = errors.New("topic is already marked for deletion")
	ErrBadVersion         = errors.New("znode version conflict")
	ErrControllerMoved    = errors.New("controller moved: controller epoch znode version changed")
	ErrNoNode             = errors.New("znode does not exist")
	ErrNodeExists         = errors.New("znode already exists")

	// ErrSessionExpired is SESSIONEXPIRED: the session, its ephemerals and its watches are gone.
	ErrSessionExpired = errors.New("zookeeper session expired")
	// ErrConnectionLoss is CONNECTIONLOSS: the call's outcome is unknown (it may have been applied).
	ErrConnectionLoss = errors.New("zookeeper connection lost")
	// ErrSessionMoved is SESSIONMOVED: the session moved to another server.
	ErrSessionMoved = errors.New("zookeeper session moved")
	// ErrClosing is a call on a client that is being closed.
	ErrClosing = errors.New("zookeeper client closing")

	ErrNotEmpty                = errors.New("znode has children")
	ErrNoChildrenForEphemerals = errors.New("ephemeral znodes cannot have children")
	ErrNoAuth                  = errors.New("not authorized for the znode")
	ErrInvalidPath             = errors.New("invalid znode path")

	// ErrMalformed is znode data a decoder cannot use (not JSON, wrong types, missing fields, numbers out
	// of range): written by hand or by a foreign tool. Callers log it naming the path and skip the znode.
	ErrMalformed = errors.New("malformed znode data")
)

// zkErrors maps the ZooKeeper client's errors to ours, in the order classify tries them.
var zkErrors = []struct{ zk, our error }{
	{zk.ErrSessionExpired, ErrSessionExpired},
	{zk.ErrNoNode, ErrNoNode},
	{zk.ErrBadVersion, ErrBadVersion},
	{zk.ErrNodeExists, ErrNodeExists},
	{zk.ErrNotEmpty, ErrNotEmpty},
	{zk.ErrNoChildrenForEphemerals, ErrNoChildrenForEphemerals},
	{zk.ErrNoAuth, ErrNoAuth},
	{zk.ErrInvalidPath, ErrInvalidPath},
	{zk.ErrConnectionClosed, ErrConnectionLoss},
	{zk.ErrNoServer, ErrConnectionLoss},
	{zk.ErrSessionMoved, ErrSessionMoved},
	{zk.ErrClosing, ErrClosing},
}

// zkError is a ZooKeeper error carrying our sentinel; its message is the original one.
type zkError struct{ our, err error }

func (e *zkError) Error() string   { return e.err.Error() }
func (e *zkError) Unwrap() []error { return []error{e.our, e.err} }

// classify wraps a ZooKeeper error with our sentinel, keeping the original error reachable too. An
// error that already carries its sentinel is returned as it is.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, m := range zkErrors {
		if errors.Is(err, m.zk) {
			if errors.Is(err, m.our) {
				return err
			}
			return &zkError{our: m.our, err: err}
		}
	}
	return err
}
