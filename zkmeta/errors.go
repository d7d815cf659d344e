package zkmeta

import (
	"errors"

	"github.com/go-zookeeper/zk"
)

// Sentinel errors; every error returned by this package that means one of these wraps it (errors.Is).
var (
	ErrBrokerIDRegistered = errors.New("broker id is already registered")
	ErrTopicExists        = errors.New("topic already exists")
	ErrTopicMarked        = errors.New("topic is already marked for deletion")
	ErrBadVersion         = errors.New("znode version conflict")
	ErrControllerMoved    = errors.New("controller moved: controller epoch znode version changed")
	ErrNoNode             = errors.New("znode does not exist")
	ErrNodeExists         = errors.New("znode already exists")
)

// classify wraps a ZooKeeper error with our sentinel, keeping the zk error reachable too.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNoNode):
		return errors.Join(ErrNoNode, err)
	case errors.Is(err, zk.ErrBadVersion):
		return errors.Join(ErrBadVersion, err)
	case errors.Is(err, zk.ErrNodeExists):
		return errors.Join(ErrNodeExists, err)
	}
	return err
}
