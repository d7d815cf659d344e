// Package zkshell is zookeeper-shell.sh: Kafka's ZooKeeperMainWithTlsSupportForKafka wrapper around
// ZooKeeper 3.8's ZooKeeperMain, for one-shot commands ("zookeeper-shell.sh host:port[/chroot] cmd args").
package zkshell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

const (
	// Default -timeout of ZooKeeperMain (ms), used as the session timeout.
	defaultTimeout = 30000
	// The watcher output ZooKeeperMain prints once the session is established (ZooKeeper 3.8's
	// WatchedEvent.toString, each line preceded by an empty one by printMessage).
	connectedBanner = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"
)

// Run executes the tool with args (argv[1:]), writing to stdout/stderr, and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		// bin/zookeeper-shell.sh checks this itself and echoes to stdout.
		fmt.Fprintln(stdout, "USAGE: zookeeper-shell.sh zookeeper_host:port[/path] [-zk-tls-config-file file] [args...]")
		return 1
	}
	server := args[0]
	rest := args[1:]
	timeout := defaultTimeout
	// ZooKeeperMain options that may precede the command.
	for len(rest) > 0 {
		switch rest[0] {
		case "-timeout":
			if len(rest) < 2 {
				rest = rest[1:]
				continue
			}
			if n, err := strconv.Atoi(rest[1]); err == nil && n > 0 {
				timeout = n
			}
			rest = rest[2:]
			continue
		case "-r", "-readonly":
			rest = rest[1:]
			continue
		case "-zk-tls-config-file":
			fmt.Fprintln(stderr, "zookeeper-shell: TLS (-zk-tls-config-file) is not supported")
			return 1
		}
		break
	}
	if len(rest) == 0 {
		// Interactive mode is not provided; ZooKeeperMain would print its banner and read stdin.
		fmt.Fprintln(stderr, "zookeeper-shell: interactive mode is not supported; give a command, e.g. ls /")
		return 1
	}
	hosts, chroot := splitConnect(server)
	fmt.Fprintln(stdout, "Connecting to "+server)

	// The hosts only: the shell puts the chroot in front of each path itself and, unlike a broker, never
	// creates it.
	if _, _, err := zkmeta.ParseConnect(strings.Join(hosts, ",")); err != nil {
		fmt.Fprintln(stderr, err.Error())
		return 1
	}
	sessionCtx, cancel := context.WithTimeout(ctx, time.Duration(timeout)*time.Millisecond)
	conn, err := zkmeta.Connect(sessionCtx, strings.Join(hosts, ","), time.Duration(timeout)*time.Millisecond, nil)
	cancel()
	if err != nil {
		slog.Debug("zookeeper-shell: no session", "server", server, "err", err)
		// The Java client keeps retrying; requests then fail with ConnectionLoss.
		fmt.Fprintf(stderr, "KeeperErrorCode = ConnectionLoss for %s\n", pathArg(rest))
		return 1
	}
	defer conn.Close()
	io.WriteString(stdout, connectedBanner)
	sh := &shell{conn: conn, chroot: chroot, out: stdout, err: stderr, loc: time.Local}
	return sh.exec(rest)
}

// splitConnect splits "h1:p1,h2:p2/chroot" into the host list and the chroot ("" for none).
func splitConnect(s string) ([]string, string) {
	chroot := ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, chroot = s[:i], s[i:]
		if chroot == "/" {
			chroot = ""
		}
		chroot = strings.TrimSuffix(chroot, "/")
	}
	var hosts []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts, chroot
}

func pathArg(cmd []string) string {
	for _, a := range cmd[1:] {
		if strings.HasPrefix(a, "/") {
			return a
		}
	}
	return "/"
}

// zkConn is the part of *zkmeta.Client the commands use (on a client without chroot: absolute paths).
type zkConn interface {
	Get(path string) ([]byte, *zkmeta.Stat, error)
	ChildrenStat(path string) ([]string, *zkmeta.Stat, error)
	Exists(path string) (bool, *zkmeta.Stat, error)
	Create(path string, data []byte, mode zkmeta.CreateMode) (string, error)
	Set(path string, data []byte, version int32) (*zkmeta.Stat, error)
	Delete(path string, version int32) error
}

type shell struct {
	conn   zkConn
	chroot string
	out    io.Writer
	err    io.Writer
	loc    *time.Location
}

// cliError is a ZooKeeper CliException: its message goes to stderr and the exit code is 1
// (ZooKeeperMain.processCmd).
type cliError struct{ msg string }

func (e *cliError) Error() string { return e.msg }

func (s *shell) exec(cmd []string) int {
	if err := s.run(cmd); err != nil {
		fmt.Fprintln(s.err, err.Error())
		return 1
	}
	return 0
}

func (s *shell) full(p string) string {
	if s.chroot == "" {
		return p
	}
	if p == "/" {
		return s.chroot
	}
	return s.chroot + p
}

// wrap is CliWrapperException's message for a ZooKeeper error on the client path p.
func wrap(err error, p string) error {
	switch {
	case errors.Is(err, zkmeta.ErrNoNode):
		return &cliError{"Node does not exist: " + p}
	case errors.Is(err, zkmeta.ErrNodeExists):
		return &cliError{"Node already exists: " + p}
	case errors.Is(err, zkmeta.ErrNotEmpty):
		return &cliError{"Node not empty: " + p}
	case errors.Is(err, zkmeta.ErrNoChildrenForEphemerals):
		return &cliError{"Ephemerals cannot have children: " + p}
	case errors.Is(err, zkmeta.ErrBadVersion):
		return &cliError{"version No is not valid : " + p}
	case errors.Is(err, zkmeta.ErrNoAuth):
		return &cliError{"Authentication is not valid : " + p}
	case errors.Is(err, zkmeta.ErrInvalidPath):
		return &cliError{err.Error()}
	}
	return &cliError{fmt.Sprintf("KeeperErrorCode = %s for %s", keeperCode(err), p)}
}

func keeperCode(err error) string {
	switch {
	case errors.Is(err, zkmeta.ErrConnectionLoss), errors.Is(err, zkmeta.ErrClosing):
		return "ConnectionLoss"
	case errors.Is(err, zkmeta.ErrSessionExpired):
		return "Session expired"
	}
	return err.Error()
}

// validatePath is PathUtils.validatePath's basic rules; the Java CLI reports them as MalformedPathException.
func validatePath(p string) error {
	switch {
	case p == "":
		return &cliError{"Path length must be > 0"}
	case p[0] != '/':
		return &cliError{"Path must start with / character"}
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		return &cliError{"Path must not end with / character"}
	case strings.Contains(p, "//"):
		return &cliError{fmt.Sprintf("Invalid path string \"%s\" caused by empty node name specified @%d", p, strings.Index(p, "//")+1)}
	}
	return nil
}

// splitFlags separates leading "-x" flags from positional arguments (commons-cli style for these commands).
func splitFlags(args []string) (map[string]bool, []string) {
	flags := map[string]bool{}
	var pos []string
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && !strings.HasPrefix(a, "/") {
			for _, c := range a[1:] {
				flags[string(c)] = true
			}
			continue
		}
		pos = append(pos, a)
	}
	return flags, pos
}

func (s *shell) run(cmd []string) error {
	name := cmd[0]
	flags, pos := splitFlags(cmd[1:])
	switch name {
	case "ls":
		if len(pos) < 1 {
			return &cliError{"ls [-s] [-w] [-R] path"}
		}
		return s.ls(pos[0], flags["s"], flags["R"])
	case "get":
		if len(pos) < 1 {
			return &cliError{"get [-s] [-w] path"}
		}
		return s.get(pos[0], flags["s"])
	case "stat":
		if len(pos) < 1 {
			return &cliError{"stat [-w] path"}
		}
		return s.stat(pos[0])
	case "create":
		if len(pos) < 1 {
			return &cliError{"create [-s] [-e] [-c] [-t ttl] path [data] [acl]"}
		}
		var data []byte
		if len(pos) > 1 {
			data = []byte(pos[1])
		}
		return s.create(pos[0], data, flags["e"], flags["s"])
	case "set":
		if len(pos) < 2 {
			return &cliError{"set [-s] [-v version] path data"}
		}
		return s.set(pos[0], []byte(pos[1]), flags["s"])
	case "delete":
		if len(pos) < 1 {
			return &cliError{"delete [-v version] path"}
		}
		return s.delete(pos[0])
	case "deleteall":
		if len(pos) < 1 {
			return &cliError{"deleteall path [-b batch size]"}
		}
		return s.deleteAll(pos[0])
	}
	// Kafka's wrapper prints its usage and raises CommandNotFoundException.
	s.usage()
	return &cliError{"Command not found " + name}
}

var commandUsage = map[string]string{
	"create":    "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
	"delete":    "[-v version] path",
	"deleteall": "path [-b batch size]",
	"get":       "[-s] [-w] path",
	"ls":        "[-s] [-w] [-R] path",
	"set":       "[-s] [-v version] path data",
	"stat":      "[-w] path",
}

func (s *shell) usage() {
	fmt.Fprintln(s.err, "ZooKeeper -server host:port [-zk-tls-config-file <file>] cmd args")
	names := make([]string, 0, len(commandUsage))
	for n := range commandUsage {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(s.err, "\t%s %s\n", n, commandUsage[n])
	}
}

// formatStat is StatPrinter.print; times are java.util.Date.toString in the local zone.
func formatStat(st *zkmeta.Stat, loc *time.Location) string {
	date := func(ms int64) string {
		return time.UnixMilli(ms).In(loc).Format("Mon Jan 02 15:04:05 MST 2006")
	}
	hex := func(v int64) string { return "0x" + strconv.FormatUint(uint64(v), 16) }
	var b strings.Builder
	fmt.Fprintf(&b, "cZxid = %s\n", hex(st.Czxid))
	fmt.Fprintf(&b, "ctime = %s\n", date(st.Ctime))
	fmt.Fprintf(&b, "mZxid = %s\n", hex(st.Mzxid))
	fmt.Fprintf(&b, "mtime = %s\n", date(st.Mtime))
	fmt.Fprintf(&b, "pZxid = %s\n", hex(st.Pzxid))
	fmt.Fprintf(&b, "cversion = %d\n", st.Cversion)
	fmt.Fprintf(&b, "dataVersion = %d\n", st.Version)
	fmt.Fprintf(&b, "aclVersion = %d\n", st.Aversion)
	fmt.Fprintf(&b, "ephemeralOwner = %s\n", hex(st.EphemeralOwner))
	fmt.Fprintf(&b, "dataLength = %d\n", st.DataLength)
	fmt.Fprintf(&b, "numChildren = %d\n", st.NumChildren)
	return b.String()
}

// formatChildren is LsCommand.printChildren: sorted names as "[a, b]".
func formatChildren(children []string) string {
	c := append([]string(nil), children...)
	sort.Strings(c)
	return "[" + strings.Join(c, ", ") + "]\n"
}

// formatData is GetCommand's output: the data as UTF-8, or "null" when the znode has no data.
func formatData(data []byte) string {
	if data == nil {
		return "null\n"
	}
	return strings.ToValidUTF8(string(data), "\uFFFD") + "\n"
}

func (s *shell) ls(p string, withStat, recursive bool) error {
	if err := validatePath(p); err != nil {
		return err
	}
	if recursive {
		return s.lsRecursive(p)
	}
	children, st, err := s.conn.ChildrenStat(s.full(p))
	if err != nil {
		return wrap(err, p)
	}
	io.WriteString(s.out, formatChildren(children))
	if withStat {
		io.WriteString(s.out, formatStat(st, s.loc))
	}
	return nil
}

// lsRecursive is ZKUtil.visitSubTreeDFS: the path, then for each node its sorted children's paths
// before descending into them.
func (s *shell) lsRecursive(p string) error {
	if _, _, err := s.conn.Get(s.full(p)); err != nil {
		return wrap(err, p)
	}
	fmt.Fprintln(s.out, p)
	var visit func(p string, depth int) error
	visit = func(p string, depth int) error {
		if depth > 1000 {
			return &cliError{"tree too deep: " + p}
		}
		children, _, err := s.conn.ChildrenStat(s.full(p))
		if errors.Is(err, zkmeta.ErrNoNode) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return wrap(err, p)
		}
		sort.Strings(children)
		for _, c := range children {
			fmt.Fprintln(s.out, path.Join(p, c))
		}
		for _, c := range children {
			if err := visit(path.Join(p, c), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(p, 0)
}

func (s *shell) get(p string, withStat bool) error {
	if err := validatePath(p); err != nil {
		return err
	}
	data, st, err := s.conn.Get(s.full(p))
	if err != nil {
		return wrap(err, p)
	}
	io.WriteString(s.out, formatData(data))
	if withStat {
		io.WriteString(s.out, formatStat(st, s.loc))
	}
	return nil
}

func (s *shell) stat(p string) error {
	if err := validatePath(p); err != nil {
		return err
	}
	ok, st, err := s.conn.Exists(s.full(p))
	if err != nil {
		return wrap(err, p)
	}
	if !ok {
		return &cliError{"Node does not exist: " + p}
	}
	io.WriteString(s.out, formatStat(st, s.loc))
	return nil
}

func (s *shell) create(p string, data []byte, ephemeral, sequential bool) error {
	if err := validatePath(p); err != nil {
		return err
	}
	mode := zkmeta.Persistent
	switch {
	case ephemeral && sequential:
		mode = zkmeta.EphemeralSequential
	case ephemeral:
		mode = zkmeta.Ephemeral
	case sequential:
		mode = zkmeta.PersistentSequential
	}
	created, err := s.conn.Create(s.full(p), data, mode)
	if err != nil {
		return wrap(err, p)
	}
	if s.chroot != "" {
		created = strings.TrimPrefix(created, s.chroot)
		if created == "" {
			created = "/"
		}
	}
	fmt.Fprintln(s.err, "Created "+created) // CreateCommand prints to err
	return nil
}

func (s *shell) set(p string, data []byte, withStat bool) error {
	if err := validatePath(p); err != nil {
		return err
	}
	st, err := s.conn.Set(s.full(p), data, -1)
	if err != nil {
		return wrap(err, p)
	}
	if withStat {
		io.WriteString(s.out, formatStat(st, s.loc))
	}
	return nil
}

func (s *shell) delete(p string) error {
	if err := validatePath(p); err != nil {
		return err
	}
	if err := s.conn.Delete(s.full(p), -1); err != nil {
		return wrap(err, p)
	}
	return nil
}

// deleteAll is ZKUtil.deleteRecursive: children first, bounded by the tree it lists.
func (s *shell) deleteAll(p string) error {
	if err := validatePath(p); err != nil {
		return err
	}
	var order []string
	queue := []string{p}
	for len(queue) > 0 && len(order) < 1_000_000 {
		n := queue[0]
		queue = queue[1:]
		order = append(order, n)
		children, _, err := s.conn.ChildrenStat(s.full(n))
		if err != nil {
			if errors.Is(err, zkmeta.ErrNoNode) && n != p {
				continue
			}
			return wrap(err, n)
		}
		for _, c := range children {
			queue = append(queue, path.Join(n, c))
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		if err := s.conn.Delete(s.full(order[i]), -1); err != nil && !errors.Is(err, zkmeta.ErrNoNode) {
			return wrap(err, order[i])
		}
	}
	return nil
}
