package zkmeta

import (
	"github.com/go-zookeeper/zk"
)

// Op is the kind of a call on a session's connection, as a test's Hook sees it.
type Op int

const (
	OpGet Op = iota + 1
	OpGetW
	OpChildren
	OpChildrenW
	OpExists
	OpExistsW
	OpCreate
	OpSet
	OpDelete
	OpCheck // a version check inside a multi
	OpMulti
)

// Request is one call a session's connection is about to make.
type Request struct {
	Op   Op
	Path string    // absolute (the chroot included); "" for OpMulti
	Ops  []Request // OpMulti's operations, in order
}

// Hook stands in for each call on one session's connection: send makes the call and returns its error;
// the hook returns the error the caller gets. A hook that does not call send, or returns an error of its
// own, makes the call fail with that error and no result.
type Hook func(req Request, send func() error) error

// SessionConn is one session's connection as a test seam sees it: paths are absolute (the chroot
// included) and its calls bypass the session's hook.
type SessionConn struct{ conn zkConn }

// SessionID is the connection's session id (0 until ZooKeeper has given it one).
func (s *SessionConn) SessionID() int64 { return s.conn.SessionID() }

// Create creates the znode p (absolute) on this connection's session.
func (s *SessionConn) Create(p string, data []byte, mode CreateMode) (string, error) {
	name, err := s.conn.Create(p, data, mode.flags(), openACL)
	return name, classify(err)
}

// hookedConn sends every call through a test's Hook.
type hookedConn struct {
	zkConn
	hook Hook
}

// call runs send through the hook; ok is false when the hook replaced send's outcome.
func (h hookedConn) call(req Request, send func() error) (err error, ok bool) {
	var sent bool
	var sendErr error
	err = h.hook(req, func() error {
		sent = true
		sendErr = send()
		return sendErr
	})
	return err, sent && err == sendErr
}

func (h hookedConn) Get(p string) ([]byte, *zk.Stat, error) {
	var data []byte
	var st *zk.Stat
	err, ok := h.call(Request{Op: OpGet, Path: p}, func() (err error) {
		data, st, err = h.zkConn.Get(p)
		return err
	})
	if !ok {
		return nil, nil, err
	}
	return data, st, err
}

func (h hookedConn) GetW(p string) ([]byte, *zk.Stat, <-chan zk.Event, error) {
	var data []byte
	var st *zk.Stat
	var w <-chan zk.Event
	err, ok := h.call(Request{Op: OpGetW, Path: p}, func() (err error) {
		data, st, w, err = h.zkConn.GetW(p)
		return err
	})
	if !ok {
		return nil, nil, nil, err
	}
	return data, st, w, err
}

func (h hookedConn) Children(p string) ([]string, *zk.Stat, error) {
	var ch []string
	var st *zk.Stat
	err, ok := h.call(Request{Op: OpChildren, Path: p}, func() (err error) {
		ch, st, err = h.zkConn.Children(p)
		return err
	})
	if !ok {
		return nil, nil, err
	}
	return ch, st, err
}

func (h hookedConn) ChildrenW(p string) ([]string, *zk.Stat, <-chan zk.Event, error) {
	var ch []string
	var st *zk.Stat
	var w <-chan zk.Event
	err, ok := h.call(Request{Op: OpChildrenW, Path: p}, func() (err error) {
		ch, st, w, err = h.zkConn.ChildrenW(p)
		return err
	})
	if !ok {
		return nil, nil, nil, err
	}
	return ch, st, w, err
}

func (h hookedConn) Exists(p string) (bool, *zk.Stat, error) {
	var exists bool
	var st *zk.Stat
	err, ok := h.call(Request{Op: OpExists, Path: p}, func() (err error) {
		exists, st, err = h.zkConn.Exists(p)
		return err
	})
	if !ok {
		return false, nil, err
	}
	return exists, st, err
}

func (h hookedConn) ExistsW(p string) (bool, *zk.Stat, <-chan zk.Event, error) {
	var exists bool
	var st *zk.Stat
	var w <-chan zk.Event
	err, ok := h.call(Request{Op: OpExistsW, Path: p}, func() (err error) {
		exists, st, w, err = h.zkConn.ExistsW(p)
		return err
	})
	if !ok {
		return false, nil, nil, err
	}
	return exists, st, w, err
}

func (h hookedConn) Create(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	var name string
	err, ok := h.call(Request{Op: OpCreate, Path: p}, func() (err error) {
		name, err = h.zkConn.Create(p, data, flags, acl)
		return err
	})
	if !ok {
		return "", err
	}
	return name, err
}

func (h hookedConn) Set(p string, data []byte, version int32) (*zk.Stat, error) {
	var st *zk.Stat
	err, ok := h.call(Request{Op: OpSet, Path: p}, func() (err error) {
		st, err = h.zkConn.Set(p, data, version)
		return err
	})
	if !ok {
		return nil, err
	}
	return st, err
}

func (h hookedConn) Delete(p string, version int32) error {
	err, _ := h.call(Request{Op: OpDelete, Path: p}, func() error { return h.zkConn.Delete(p, version) })
	return err
}

func (h hookedConn) Multi(ops ...any) ([]zk.MultiResponse, error) {
	req := Request{Op: OpMulti}
	for _, op := range ops {
		switch o := op.(type) {
		case *zk.CreateRequest:
			req.Ops = append(req.Ops, Request{Op: OpCreate, Path: o.Path})
		case *zk.SetDataRequest:
			req.Ops = append(req.Ops, Request{Op: OpSet, Path: o.Path})
		case *zk.DeleteRequest:
			req.Ops = append(req.Ops, Request{Op: OpDelete, Path: o.Path})
		case *zk.CheckVersionRequest:
			req.Ops = append(req.Ops, Request{Op: OpCheck, Path: o.Path})
		}
	}
	var res []zk.MultiResponse
	err, ok := h.call(req, func() (err error) {
		res, err = h.zkConn.Multi(ops...)
		return err
	})
	if !ok {
		return nil, err
	}
	return res, err
}
