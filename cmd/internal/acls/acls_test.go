package acls

import (
	"context"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bootstrap-server", "x:1", "--topic", "t"}, "Command must include exactly one action: --list, --add, --remove."},
		{[]string{"--bootstrap-server", "x:1", "--add", "--list", "--topic", "t"}, "Command must include exactly one action"},
		{[]string{"--bootstrap-server", "x:1", "--list", "--producer", "--topic", "t"}, `Option "[list]" can't be used with option`},
		{[]string{"--bootstrap-server", "x:1", "--add", "--producer"}, "With --producer you must specify a --topic"},
		{[]string{"--bootstrap-server", "x:1", "--add", "--idempotent", "--topic", "t"}, "The --idempotent option is only available if --producer is set"},
		{[]string{"--bootstrap-server", "x:1", "--add", "--consumer", "--topic", "t"}, "With --consumer you must specify a --topic and a --group"},
		{[]string{"--bootstrap-server", "x:1", "--add", "--allow-principal", "User:a"}, "You must provide at least one resource"},
		{[]string{"--bootstrap-server", "x:1", "--add", "--topic", "t"}, "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs."},
		{[]string{"--bootstrap-server", "x:1", "--add", "--allow-principal", "User:a", "--operation", "IdempotentWrite", "--topic", "t"},
			"ResourceType TOPIC only supports operations All, Read, Write, Create, Describe, Delete, Alter, DescribeConfigs, AlterConfigs"},
		{[]string{"--bootstrap-server", "x:1", "--add", "--allow-principal", "User:a", "--resource-pattern-type", "match", "--topic", "t"},
			"A '--resource-pattern-type' value of 'MATCH' is not valid when adding acls."},
	} {
		var out, errOut strings.Builder
		code := run(context.Background(), c.args, strings.NewReader(""), &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, firstLine(errOut.String()), c.want)
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// TestRemoveAsks: without --force every resource filter is confirmed
// first; anything but y skips it (no request is sent).
func TestRemoveAsks(t *testing.T) {
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"--bootstrap-server", "127.0.0.1:1", "--remove", "--allow-principal", "User:a", "--operation", "Read", "--topic", "t"},
		strings.NewReader("n\n"), &out, &errOut)
	want := "Are you sure you want to remove ACLs: \n \t(principal=User:a, host=*, operation=READ, permissionType=ALLOW) \n from resource filter `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`? (y/n)\n"
	if code != 0 || out.String() != want {
		t.Fatalf("exit %d\n%q\nwant\n%q\nstderr %s", code, out.String(), want, errOut.String())
	}
	out.Reset()
	code = run(context.Background(), []string{"--bootstrap-server", "127.0.0.1:1", "--remove", "--group", "g"}, strings.NewReader("no\n"), &out, &errOut)
	if want := "Are you sure you want to delete all ACLs for resource filter `ResourcePattern(resourceType=GROUP, name=g, patternType=LITERAL)`? (y/n)\n"; code != 0 || out.String() != want {
		t.Fatalf("exit %d %q", code, out.String())
	}
}

func TestBlockFormat(t *testing.T) {
	got := block("Adding ACLs for resource", pattern{2, "t", 4}, []entry{{"User:a", "*", 3, 3}, {"User:b", "h", 2, 2}})
	want := "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=PREFIXED)`: \n \t(principal=User:a, host=*, operation=READ, permissionType=ALLOW)\n\t(principal=User:b, host=h, operation=ALL, permissionType=DENY) \n\n"
	if got != want {
		t.Fatalf("%q\nwant\n%q", got, want)
	}
}
