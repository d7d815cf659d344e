package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// zkLibrary is the ZooKeeper client library only zkmeta may import. Its path is split so that a grep for
// it outside zkmeta/ finds nothing (issue 13's acceptance).
const zkLibrary = "github.com/go-" + "zookeeper/zk"

// mayImport lists, for each top-level package with rules, the module's top-level packages it may import
// besides its own sub-packages (DESIGN.md's "may import (project-internal)" column). A top-level package
// not listed (cmd, compat-tests, bench, internal) may import anything.
var mayImport = map[string][]string{
	"storage":    nil,
	"protocol":   nil,
	"zkmeta":     nil,
	"controller": {"zkmeta", "protocol"},
	"broker":     {"storage", "zkmeta", "protocol"},
}

// pkg is the part of `go list -json`'s output the rules look at.
type pkg struct {
	ImportPath   string
	Imports      []string // of its non-test files
	TestImports  []string // of its _test.go files in the package
	XTestImports []string // of its _test.go files in package <name>_test
	Module       *struct{ Path string }
}

// top is the first element of path inside module ("broker" for module/broker/group), or "" when path
// is not a package of module.
func top(module, path string) string {
	rel, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rel, "/")
	return t
}

// violations checks pkgs, packages of module, against the rules and describes each offending import.
func violations(module string, pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from := top(module, p.ImportPath)
		// Only zkmeta talks to ZooKeeper: not even a test elsewhere drives it directly.
		if from != "zkmeta" {
			for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
				if imp == zkLibrary || strings.HasPrefix(imp, zkLibrary+"/") {
					out = append(out, fmt.Sprintf("%s imports %s: only zkmeta imports the ZooKeeper client; use zkmeta's API (or zkmeta/zktest in tests)", p.ImportPath, imp))
				}
			}
		}
		allowed, ruled := mayImport[from]
		if !ruled {
			continue
		}
		for _, imp := range p.Imports {
			to := top(module, imp)
			if to == "" || to == from || slices.Contains(allowed, to) {
				continue
			}
			why := fmt.Sprintf("%s may import %s", from, strings.Join(allowed, ", "))
			switch {
			case from == "broker" && to == "controller", from == "controller" && to == "broker":
				why = "broker and controller never import each other; they talk the Kafka protocol"
			case len(allowed) == 0:
				why = from + " imports no other package of the module"
			}
			out = append(out, fmt.Sprintf("%s imports %s: %s (DESIGN.md)", p.ImportPath, imp, why))
		}
	}
	return out
}

// The real check: the module's packages as `go list` sees them now.
func TestModuleImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Module,Error", "./...")
	cmd.Dir = "../../.." // the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	module := ""
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			pkg
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list's output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Module == nil {
			t.Fatalf("go list: %s is in no module", p.ImportPath)
		}
		module = p.Module.Path
		pkgs = append(pkgs, p.pkg)
		seen[top(module, p.ImportPath)] = true
	}
	// The check must have looked at every package the rules name, or it proves nothing.
	for name := range mayImport {
		if !seen[name] {
			t.Fatalf("go list found no package %s/%s (found %d packages)", module, name, len(pkgs))
		}
	}
	for _, v := range violations(module, pkgs) {
		t.Error(v)
	}
}

// The rule checker itself, on made-up import lists: each broken rule is found and named.
func TestViolations(t *testing.T) {
	const m = "example.com/mod"
	for _, tc := range []struct {
		name string
		pkg  pkg
		want []string // substrings of the violations, one each, in order
	}{
		{"broker imports its sub-package, storage, zkmeta, protocol and outside modules",
			pkg{ImportPath: m + "/broker", Imports: []string{m + "/broker/group", m + "/storage", m + "/zkmeta", m + "/protocol", "log/slog", "github.com/twmb/franz-go/pkg/kmsg"}}, nil},
		{"controller imports zkmeta and protocol",
			pkg{ImportPath: m + "/controller", Imports: []string{m + "/zkmeta", m + "/protocol"}}, nil},
		{"a broker sub-package imports the broker's allowed packages",
			pkg{ImportPath: m + "/broker/group", Imports: []string{m + "/zkmeta", m + "/broker/internal/x"}}, nil},
		{"zkmeta imports its sub-package and the ZooKeeper client",
			pkg{ImportPath: m + "/zkmeta", Imports: []string{m + "/zkmeta/zktest", zkLibrary}, TestImports: []string{zkLibrary}}, nil},
		{"cmd imports anything",
			pkg{ImportPath: m + "/cmd/kafka", Imports: []string{m + "/broker", m + "/controller", m + "/storage"}}, nil},
		{"a broker test imports the controller (test imports: only the ZooKeeper rule)",
			pkg{ImportPath: m + "/broker", TestImports: []string{m + "/controller", m + "/zkmeta/zktest"}}, nil},

		{"broker imports controller",
			pkg{ImportPath: m + "/broker", Imports: []string{m + "/controller"}},
			[]string{"broker imports example.com/mod/controller: broker and controller never import each other"}},
		{"a controller sub-package imports a broker sub-package",
			pkg{ImportPath: m + "/controller/x", Imports: []string{m + "/broker/group"}},
			[]string{"controller/x imports example.com/mod/broker/group: broker and controller never import each other"}},
		{"storage imports protocol",
			pkg{ImportPath: m + "/storage", Imports: []string{m + "/protocol"}},
			[]string{"storage imports example.com/mod/protocol: storage imports no other package of the module"}},
		{"protocol imports zkmeta",
			pkg{ImportPath: m + "/protocol", Imports: []string{m + "/zkmeta"}},
			[]string{"protocol imports example.com/mod/zkmeta: protocol imports no other package"}},
		{"zkmeta/zktest imports storage",
			pkg{ImportPath: m + "/zkmeta/zktest", Imports: []string{m + "/storage"}},
			[]string{"zkmeta/zktest imports example.com/mod/storage: zkmeta imports no other package"}},
		{"controller imports storage",
			pkg{ImportPath: m + "/controller", Imports: []string{m + "/storage"}},
			[]string{"controller imports example.com/mod/storage: controller may import zkmeta, protocol"}},
		{"broker imports cmd",
			pkg{ImportPath: m + "/broker", Imports: []string{m + "/cmd/internal/config"}},
			[]string{"broker imports example.com/mod/cmd/internal/config: broker may import storage, zkmeta, protocol"}},
		{"the controller imports the ZooKeeper client",
			pkg{ImportPath: m + "/controller", Imports: []string{zkLibrary}},
			[]string{"controller imports " + zkLibrary + ": only zkmeta imports the ZooKeeper client"}},
		{"a cmd test imports the ZooKeeper client",
			pkg{ImportPath: m + "/cmd/internal/server", XTestImports: []string{zkLibrary}},
			[]string{"cmd/internal/server imports " + zkLibrary + ": only zkmeta"}},
		{"a broker test imports the ZooKeeper client",
			pkg{ImportPath: m + "/broker", TestImports: []string{zkLibrary}},
			[]string{"broker imports " + zkLibrary}},
		{"a module outside the rules' names is not ours",
			pkg{ImportPath: m + "/broker", Imports: []string{"example.com/module2/controller"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(m, []pkg{tc.pkg})
			if len(got) != len(tc.want) {
				t.Fatalf("violations = %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %q, want it to contain %q", got[i], w)
				}
			}
		})
	}
}
