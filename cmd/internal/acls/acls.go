// Package acls is bin/kafka-acls.sh, Kafka's AclCommand with
// --bootstrap-server (its AdminClientService): --add, --remove and --list
// of ACLs through CreateAcls, DeleteAcls and DescribeAcls, with the
// --producer / --consumer conveniences, printing what AclCommand prints.
// The deprecated --authorizer / --authorizer-properties path (writing
// ZooKeeper directly) is not offered.
package acls

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

var options = []cli.Option{
	{Name: "add", Desc: "Indicates you are trying to add ACLs."},
	{Name: "allow-host", Desc: "Host from which principals listed in --allow-principal will have access. If you have specified --allow-principal then the default for this option will be set to '*' which allows access from all hosts.", TakesArg: true, ArgDesc: "allow-host"},
	{Name: "allow-principal", Desc: "principal is in principalType:name format. Note that principalType must be supported by the Authorizer being used. For example, User:'*' is the wild card indicating all users.", TakesArg: true, ArgDesc: "allow-principal"},
	{Name: "bootstrap-server", Desc: "A list of host/port pairs to use for establishing the connection to the Kafka cluster. This list should be in the form host1:port1,host2:port2,... This config is required for acl management using admin client API.", TakesArg: true, ArgDesc: "server to connect to"},
	{Name: "cluster", Desc: "Add/Remove cluster ACLs."},
	{Name: "command-config", Desc: "A property file containing configs to be passed to Admin Client.", OptionalArg: true, ArgDesc: "command-config"},
	{Name: "consumer", Desc: "Convenience option to add/remove ACLs for consumer role. This will generate ACLs that allows READ,DESCRIBE on topic and READ on group."},
	{Name: "delegation-token", Desc: "Delegation token to which ACLs should be added or removed. A value of '*' indicates ACL should apply to all tokens.", TakesArg: true, ArgDesc: "delegation-token"},
	{Name: "deny-host", Desc: "Host from which principals listed in --deny-principal will be denied access. If you have specified --deny-principal then the default for this option will be set to '*' which denies access from all hosts.", TakesArg: true, ArgDesc: "deny-host"},
	{Name: "deny-principal", Desc: "principal is in principalType:name format. By default anyone not added through --allow-principal is denied access. You only need to use this option as negation to already allowed set. Note that principalType must be supported by the Authorizer being used. For example if you wanted to allow access to all users in the system but not test-user you can define an ACL that allows access to User:'*' and specify --deny-principal=User:test@EXAMPLE.COM. AND PLEASE REMEMBER DENY RULES TAKES PRECEDENCE OVER ALLOW RULES.", TakesArg: true, ArgDesc: "deny-principal"},
	{Name: "force", Desc: "Assume Yes to all queries and do not prompt."},
	{Name: "group", Desc: "Consumer Group to which the ACLs should be added or removed. A value of '*' indicates the ACLs should apply to all groups.", TakesArg: true, ArgDesc: "group"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "idempotent", Desc: "Enable idempotence for the producer. This should be used in combination with the --producer option. Note that idempotence is enabled automatically if the producer is authorized to a particular transactional-id."},
	{Name: "list", Desc: "List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource."},
	{Name: "operation", Desc: "Operation that is being allowed or denied. Valid operation names are: \n\tDescribe\n\tDescribeConfigs\n\tAlter\n\tIdempotentWrite\n\tRead\n\tDelete\n\tCreate\n\tClusterAction\n\tAll\n\tCreateTokens\n\tDescribeTokens\n\tWrite\n\tAlterConfigs\n", TakesArg: true, Default: "All"},
	{Name: "principal", Desc: "List ACLs for the specified principal. principal is in principalType:name format. Note that principalType must be supported by the Authorizer being used. Multiple --principal option can be passed.", OptionalArg: true, ArgDesc: "principal"},
	{Name: "producer", Desc: "Convenience option to add/remove ACLs for producer role. This will generate ACLs that allows WRITE,DESCRIBE and CREATE on topic."},
	{Name: "remove", Desc: "Indicates you are trying to remove ACLs."},
	{Name: "resource-pattern-type", Desc: "The type of the resource pattern or pattern filter. When adding acls, this should be a specific pattern type, e.g. 'literal' or 'prefixed'. When listing or removing acls, a specific pattern type can be used to list or remove acls from specific resource patterns, or use the filter values of 'any' or 'match', where 'any' will match any pattern type, but will match the resource name exactly, where as 'match' will perform pattern matching to list or remove all acls that affect the supplied resource(s). WARNING: 'match', when used in combination with the '--remove' switch, should be used with care.", TakesArg: true, ArgType: "ResourcePatternType", Default: "LITERAL"},
	{Name: "topic", Desc: "topic to which ACLs should be added or removed. A value of '*' indicates ACL should apply to all topics.", TakesArg: true, ArgDesc: "topic"},
	{Name: "transactional-id", Desc: "The transactionalId to which ACLs should be added or removed. A value of '*' indicates the ACLs should apply to all transactionalIds.", TakesArg: true, ArgDesc: "transactional-id"},
	{Name: "user-principal", Desc: "Specifies a user principal as a resource in relation with the operation. For instance one could grant CreateTokens or DescribeTokens permission on a given user principal.", TakesArg: true, ArgDesc: "user-principal"},
	{Name: "version", Desc: "Display Kafka version."},
}

const description = "This tool helps to manage acls on kafka."

// Enum names (Java's toString of ResourceType, PatternType, AclOperation,
// AclPermissionType) by wire code.
var (
	resourceTypes = map[kmsg.ACLResourceType]string{2: "TOPIC", 3: "GROUP", 4: "CLUSTER", 5: "TRANSACTIONAL_ID", 6: "DELEGATION_TOKEN", 7: "USER", 1: "ANY"}
	patternTypes  = map[kmsg.ACLResourcePatternType]string{1: "ANY", 2: "MATCH", 3: "LITERAL", 4: "PREFIXED"}
	operations    = map[kmsg.ACLOperation]string{2: "ALL", 3: "READ", 4: "WRITE", 5: "CREATE", 6: "DELETE", 7: "ALTER", 8: "DESCRIBE",
		9: "CLUSTER_ACTION", 10: "DESCRIBE_CONFIGS", 11: "ALTER_CONFIGS", 12: "IDEMPOTENT_WRITE", 13: "CREATE_TOKENS", 14: "DESCRIBE_TOKENS"}
	permissions = map[kmsg.ACLPermissionType]string{2: "DENY", 3: "ALLOW"}
)

// pascal is SecurityUtils' Pascal-case form of an enum name.
func pascal(enum string) string {
	var b strings.Builder
	up := true
	for _, c := range enum {
		switch {
		case c == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(c)))
			up = false
		default:
			b.WriteString(strings.ToLower(string(c)))
		}
	}
	return b.String()
}

// operationByName is SecurityUtils.operation: the Pascal-case name or its
// upper-case form.
func operationByName(s string) (kmsg.ACLOperation, bool) {
	for code, enum := range operations {
		if p := pascal(enum); p == s || strings.ToUpper(p) == s {
			return code, true
		}
	}
	return 0, false
}

// supported is AclEntry.supportedOperations plus ALL, in the order the
// usage message lists them.
var supported = map[kmsg.ACLResourceType][]kmsg.ACLOperation{
	2: {3, 4, 5, 8, 6, 7, 10, 11},
	3: {3, 8, 6},
	4: {5, 9, 10, 11, 12, 7, 8},
	5: {8, 4},
	6: {8},
	7: {13, 14},
}

type pattern struct {
	typ  kmsg.ACLResourceType
	name string
	pat  kmsg.ACLResourcePatternType
}

// String is ResourcePattern / ResourcePatternFilter.toString.
func (p pattern) String() string {
	return fmt.Sprintf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", resourceTypes[p.typ], p.name, patternTypes[p.pat])
}

type entry struct {
	principal string
	host      string
	op        kmsg.ACLOperation
	perm      kmsg.ACLPermissionType
}

// String is AccessControlEntry.toString.
func (e entry) String() string {
	return fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s)", e.principal, e.host, operations[e.op], permissions[e.perm])
}

// usageError is CommandLineUtils.printUsageAndExit: the message, the
// options table, exit 1.
type usageError string

func (u usageError) Error() string { return string(u) }

// Run executes the command and returns its exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, os.Stdin, stdout, stderr)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := cli.Parse(options, args)
	if err != nil {
		fmt.Fprintln(stderr, err.Error())
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if len(args) == 0 || opts.Has("help") {
		fmt.Fprintln(stderr, description)
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if opts.Has("version") {
		fmt.Fprintln(stdout, "3.9.2")
		return 0
	}
	if u := checkArgs(opts); u != "" {
		fmt.Fprintln(stderr, u)
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	c := &command{opts: opts, stdin: bufio.NewReader(stdin), stdout: stdout}
	var runErr error
	switch {
	case opts.Has("add"):
		runErr = c.add(ctx)
	case opts.Has("remove"):
		runErr = c.remove(ctx)
	default:
		runErr = c.list(ctx)
	}
	if u, ok := runErr.(usageError); ok {
		fmt.Fprintln(stderr, string(u))
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if runErr != nil {
		// AclCommand.main: the exception's message (the cause's class and
		// message, as ExecutionException.getMessage shows it).
		msg := runErr.Error()
		if je, ok := runErr.(*cli.JavaError); ok {
			msg = je.Class + ": " + je.Msg
		} else if class, m, ok := cli.AuthErrorClass(runErr); ok {
			msg = class + ": " + m
		}
		fmt.Fprintf(stdout, "Error while executing ACL command: %s\n", msg)
		return 1
	}
	return 0
}

// checkArgs is AclCommandOptions.checkArgs for the --bootstrap-server path.
func checkArgs(o *cli.Parsed) string {
	if !o.Has("bootstrap-server") {
		return "Missing required argument \"[bootstrap-server]\" (the deprecated --authorizer-properties path writing ZooKeeper directly is not supported)"
	}
	actions := 0
	for _, a := range []string{"list", "add", "remove"} {
		if o.Has(a) {
			actions++
		}
	}
	if actions != 1 {
		return "Command must include exactly one action: --list, --add, --remove. "
	}
	if o.Has("list") && (o.Has("producer") || o.Has("consumer") || o.Has("allow-principal") || o.Has("deny-principal") ||
		o.Has("allow-host") || o.Has("deny-host") || o.Has("operation") || o.Has("idempotent") || o.Has("force")) {
		return "Option \"[list]\" can't be used with option \"[producer],[consumer],[allow-principal],[deny-principal],[allow-host],[deny-host],[operation],[idempotent],[force]\""
	}
	if o.Has("producer") && !o.Has("topic") && !o.Has("transactional-id") {
		return "With --producer you must specify a --topic"
	}
	if o.Has("idempotent") && !o.Has("producer") {
		return "The --idempotent option is only available if --producer is set"
	}
	if o.Has("consumer") && (!o.Has("topic") || !o.Has("group") || (!o.Has("producer") && (o.Has("cluster") || o.Has("transactional-id")))) {
		return "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified."
	}
	return ""
}

type command struct {
	opts   *cli.Parsed
	stdin  *bufio.Reader
	stdout io.Writer
}

func (c *command) patternType() (kmsg.ACLResourcePatternType, error) {
	v, _ := c.opts.Value("resource-pattern-type")
	if v == "" {
		v = "LITERAL"
	}
	for code, n := range patternTypes {
		if strings.EqualFold(n, v) {
			return code, nil
		}
	}
	return 0, &cli.JavaError{Class: "joptsimple.OptionArgumentConversionException", Msg: "Cannot parse argument '" + v + "' of option resource-pattern-type"}
}

// filters is getResourceFilter: topics, the cluster (for a literal
// pattern, --cluster or --idempotent), groups, transactional ids,
// delegation tokens, user principals.
func (c *command) filters(pat kmsg.ACLResourcePatternType, dieIfNone bool) ([]pattern, error) {
	var out []pattern
	add := func(p pattern) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, t := range c.opts.Values["topic"] {
		add(pattern{2, strings.TrimSpace(t), pat})
	}
	if pat == 3 && (c.opts.Has("cluster") || c.opts.Has("idempotent")) {
		add(pattern{4, "kafka-cluster", 3})
	}
	for _, g := range c.opts.Values["group"] {
		add(pattern{3, strings.TrimSpace(g), pat})
	}
	for _, x := range c.opts.Values["transactional-id"] {
		add(pattern{5, x, pat})
	}
	for _, d := range c.opts.Values["delegation-token"] {
		add(pattern{6, strings.TrimSpace(d), pat})
	}
	for _, u := range c.opts.Values["user-principal"] {
		add(pattern{7, strings.TrimSpace(u), pat})
	}
	if len(out) == 0 && dieIfNone {
		return nil, usageError("You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>")
	}
	return out, nil
}

func (c *command) principals(opt string) ([]string, error) {
	var out []string
	for _, s := range c.opts.Values[opt] {
		s = strings.TrimSpace(s)
		typ, name, ok := strings.Cut(s, ":")
		if !ok || s == "" {
			return nil, &cli.JavaError{Class: "java.lang.IllegalArgumentException", Msg: "expected a string in format principalType:principalName but got " + s}
		}
		if p := typ + ":" + name; !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *command) hosts(hostOpt, principalOpt string) []string {
	if c.opts.Has(hostOpt) {
		var out []string
		for _, h := range c.opts.Values[hostOpt] {
			if h = strings.TrimSpace(h); !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
		return out
	}
	if c.opts.Has(principalOpt) {
		return []string{"*"}
	}
	return nil
}

// entries is getAcl(opts, operations): every allowed principal x
// operation x host, then every denied one.
func (c *command) entries(ops []kmsg.ACLOperation) ([]entry, error) {
	allowP, err := c.principals("allow-principal")
	if err != nil {
		return nil, err
	}
	denyP, err := c.principals("deny-principal")
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, side := range []struct {
		ps    []string
		hosts []string
		perm  kmsg.ACLPermissionType
	}{{allowP, c.hosts("allow-host", "allow-principal"), 3}, {denyP, c.hosts("deny-host", "deny-principal"), 2}} {
		for _, p := range side.ps {
			for _, op := range ops {
				for _, h := range side.hosts {
					e := entry{p, h, op, side.perm}
					if !slices.Contains(out, e) {
						out = append(out, e)
					}
				}
			}
		}
	}
	return out, nil
}

type resourceACLs struct {
	p    pattern
	acls []entry
}

// filterToACLs is getResourceFilterToAcls: the --operation ACLs on every
// resource, or the --producer / --consumer sets; each checked against the
// resource type's supported operations (validateOperation).
func (c *command) filterToACLs(pat kmsg.ACLResourcePatternType) ([]resourceACLs, error) {
	var out []resourceACLs
	put := func(p pattern, acls []entry, merge bool) {
		for i := range out {
			if out[i].p == p {
				if merge {
					for _, e := range acls {
						if !slices.Contains(out[i].acls, e) {
							out[i].acls = append(out[i].acls, e)
						}
					}
				} else {
					out[i].acls = acls
				}
				return
			}
		}
		out = append(out, resourceACLs{p, acls})
	}
	producer, consumer := c.opts.Has("producer"), c.opts.Has("consumer")
	if !producer && !consumer {
		var ops []kmsg.ACLOperation
		names := c.opts.Values["operation"]
		if len(names) == 0 {
			names = []string{"All"}
		}
		for _, n := range names {
			op, _ := operationByName(strings.TrimSpace(n)) // UNKNOWN (0) fails validateOperation below
			if !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
		acls, err := c.entries(ops)
		if err != nil {
			return nil, err
		}
		fs, err := c.filters(pat, true)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			put(f, acls, false)
		}
	}
	if producer {
		fs, err := c.filters(pat, true)
		if err != nil {
			return nil, err
		}
		topicACLs, err := c.entries([]kmsg.ACLOperation{4, 8, 5}) // WRITE, DESCRIBE, CREATE
		if err != nil {
			return nil, err
		}
		txnACLs, _ := c.entries([]kmsg.ACLOperation{4, 8})
		for _, f := range fs {
			switch f.typ {
			case 2:
				put(f, topicACLs, false)
			case 5:
				put(f, txnACLs, false)
			}
		}
		if c.opts.Has("idempotent") {
			idem, _ := c.entries([]kmsg.ACLOperation{12})
			put(pattern{4, "kafka-cluster", 3}, idem, false)
		}
	}
	if consumer {
		fs, err := c.filters(pat, true)
		if err != nil {
			return nil, err
		}
		readDescribe, err := c.entries([]kmsg.ACLOperation{3, 8})
		if err != nil {
			return nil, err
		}
		read, _ := c.entries([]kmsg.ACLOperation{3})
		for _, f := range fs {
			switch f.typ {
			case 2:
				put(f, readDescribe, true)
			case 3:
				put(f, read, true)
			}
		}
	}
	for _, r := range out {
		valid := append([]kmsg.ACLOperation{2}, supported[r.p.typ]...)
		for _, e := range r.acls {
			if !slices.Contains(valid, e.op) {
				var names []string
				for _, op := range valid {
					names = append(names, pascal(operations[op]))
				}
				return nil, usageError(fmt.Sprintf("ResourceType %s only supports operations %s", resourceTypes[r.p.typ], strings.Join(names, ", ")))
			}
		}
	}
	return out, nil
}

func (c *command) client() (*kgo.Client, error) {
	props := map[string]string{}
	if path, ok := c.opts.Value("command-config"); ok && path != "" {
		p, err := cli.LoadProps(path)
		if err != nil {
			return nil, err
		}
		props = p
	}
	props["bootstrap.servers"], _ = c.opts.Value("bootstrap-server")
	return cli.AdminClient(props)
}

func block(title string, p pattern, acls []entry) string {
	lines := make([]string, len(acls))
	for i, e := range acls {
		lines[i] = "\t" + e.String()
	}
	return fmt.Sprintf("%s `%s`: \n %s \n\n", title, p, strings.Join(lines, "\n"))
}

// add is AdminClientService.addAcls: per resource, print then create.
func (c *command) add(ctx context.Context) error {
	pat, err := c.patternType()
	if err != nil {
		return err
	}
	if pat != 3 && pat != 4 {
		return usageError(fmt.Sprintf("A '--resource-pattern-type' value of '%s' is not valid when adding acls.", patternTypes[pat]))
	}
	toAdd, err := c.filterToACLs(pat)
	if err != nil {
		return err
	}
	for _, r := range toAdd {
		if len(r.acls) == 0 {
			return usageError("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.")
		}
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, r := range toAdd {
		io.WriteString(c.stdout, block("Adding ACLs for resource", r.p, r.acls))
		req := kmsg.NewPtrCreateACLsRequest()
		for _, e := range r.acls {
			x := kmsg.NewCreateACLsRequestCreation()
			x.ResourceType, x.ResourceName, x.ResourcePatternType = r.p.typ, r.p.name, r.p.pat
			x.Principal, x.Host, x.Operation, x.PermissionType = e.principal, e.host, e.op, e.perm
			req.Creations = append(req.Creations, x)
		}
		resp, err := request(ctx, cl, req)
		if err != nil {
			return err
		}
		for _, res := range resp.(*kmsg.CreateACLsResponse).Results {
			if res.ErrorCode != 0 {
				return cli.KafkaError(res.ErrorCode, res.ErrorMessage)
			}
		}
	}
	return nil
}

// remove is AdminClientService.removeAcls: per resource filter, confirm
// (unless --force) and delete the given ACLs, or all of the filter's.
func (c *command) remove(ctx context.Context) error {
	pat, err := c.patternType()
	if err != nil {
		return err
	}
	toRemove, err := c.filterToACLs(pat)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, r := range toRemove {
		var prompt string
		if len(r.acls) == 0 {
			prompt = fmt.Sprintf("Are you sure you want to delete all ACLs for resource filter `%s`? (y/n)", r.p)
		} else {
			lines := make([]string, len(r.acls))
			for i, e := range r.acls {
				lines[i] = "\t" + e.String()
			}
			prompt = fmt.Sprintf("Are you sure you want to remove ACLs: \n %s \n from resource filter `%s`? (y/n)", strings.Join(lines, "\n"), r.p)
		}
		if !c.confirm(prompt) {
			continue
		}
		req := kmsg.NewPtrDeleteACLsRequest()
		name := r.p.name
		if len(r.acls) == 0 {
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourceName, f.ResourcePatternType = r.p.typ, &name, r.p.pat
			f.Operation, f.PermissionType = 1, 1 // ANY
			req.Filters = append(req.Filters, f)
		}
		for _, e := range r.acls {
			f := kmsg.NewDeleteACLsRequestFilter()
			principal, host := e.principal, e.host
			f.ResourceType, f.ResourceName, f.ResourcePatternType = r.p.typ, &name, r.p.pat
			f.Principal, f.Host, f.Operation, f.PermissionType = &principal, &host, e.op, e.perm
			req.Filters = append(req.Filters, f)
		}
		resp, err := request(ctx, cl, req)
		if err != nil {
			return err
		}
		for _, res := range resp.(*kmsg.DeleteACLsResponse).Results {
			if res.ErrorCode != 0 {
				return cli.KafkaError(res.ErrorCode, res.ErrorMessage)
			}
			for _, m := range res.MatchingACLs {
				if m.ErrorCode != 0 {
					return cli.KafkaError(m.ErrorCode, m.ErrorMessage)
				}
			}
		}
	}
	return nil
}

func (c *command) confirm(prompt string) bool {
	if c.opts.Has("force") {
		return true
	}
	fmt.Fprintln(c.stdout, prompt)
	line, _ := c.stdin.ReadString('\n')
	return strings.EqualFold(strings.TrimRight(line, "\r\n"), "y")
}

// list is AdminClientService.listAcls: every ACL of the filters (all with
// none given), grouped by resource, optionally per --principal.
func (c *command) list(ctx context.Context) error {
	pat, err := c.patternType()
	if err != nil {
		return err
	}
	fs, err := c.filters(pat, false)
	if err != nil {
		return err
	}
	listPrincipals, err := c.principals("principal")
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	type group struct {
		p    pattern
		acls []entry
	}
	var groups []group
	describe := func(req *kmsg.DescribeACLsRequest) error {
		resp, err := request(ctx, cl, req)
		if err != nil {
			return err
		}
		d := resp.(*kmsg.DescribeACLsResponse)
		if d.ErrorCode != 0 {
			return cli.KafkaError(d.ErrorCode, d.ErrorMessage)
		}
		for _, r := range d.Resources {
			p := pattern{r.ResourceType, r.ResourceName, r.ResourcePatternType}
			i := slices.IndexFunc(groups, func(g group) bool { return g.p == p })
			if i < 0 {
				groups = append(groups, group{p: p})
				i = len(groups) - 1
			}
			for _, a := range r.ACLs {
				e := entry{a.Principal, a.Host, a.Operation, a.PermissionType}
				if !slices.Contains(groups[i].acls, e) {
					groups[i].acls = append(groups[i].acls, e)
				}
			}
		}
		return nil
	}
	if len(fs) == 0 {
		req := kmsg.NewPtrDescribeACLsRequest()
		req.ResourceType, req.ResourcePatternType, req.Operation, req.PermissionType = 1, 1, 1, 1
		if err := describe(req); err != nil {
			return err
		}
	}
	for _, f := range fs {
		req := kmsg.NewPtrDescribeACLsRequest()
		name := f.name
		req.ResourceType, req.ResourceName, req.ResourcePatternType, req.Operation, req.PermissionType = f.typ, &name, f.pat, 1, 1
		if err := describe(req); err != nil {
			return err
		}
	}
	if len(listPrincipals) == 0 {
		for _, g := range groups {
			io.WriteString(c.stdout, block("Current ACLs for resource", g.p, g.acls))
		}
		return nil
	}
	for _, p := range listPrincipals {
		fmt.Fprintf(c.stdout, "ACLs for principal `%s`\n", p)
		for _, g := range groups {
			var mine []entry
			for _, e := range g.acls {
				if e.principal == p {
					mine = append(mine, e)
				}
			}
			if len(mine) > 0 {
				io.WriteString(c.stdout, block("Current ACLs for resource", g.p, mine))
			}
		}
	}
	return nil
}

// request sends an admin request with the admin client's default timeout.
func request(ctx context.Context, cl *kgo.Client, req kmsg.Request) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return cl.Request(ctx, req)
}
