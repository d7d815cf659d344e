package transactions

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// kafka-transactions.sh parses its command line with argparse4j 0.7.0
// (TransactionsCommand.buildBaseParser and each command's addSubparser),
// not with jopt-simple as the other tools: a main parser with a sub-command,
// GNU-style long options that may be abbreviated, and argparse4j's help and
// error layout (75 columns, text justified by widening the gaps between
// words). This file is that parser, as far as the tool uses it.

// formatWidth is ArgumentParsers.getFormatWidth when the terminal width is
// unknown (always, for a tool whose output is captured).
const formatWidth = 75

// argType is the Java type an argument converts its value to.
type argType int

const (
	typeString argType = iota
	typeInteger
	typeLong
	typeShort
)

func (t argType) String() string {
	switch t {
	case typeInteger:
		return "Integer"
	case typeLong:
		return "Long"
	case typeShort:
		return "Short"
	}
	return "String"
}

// argAction is what an argument does when seen.
type argAction int

const (
	actionStore   argAction = iota // store(): takes one value
	actionHelp                     // -h/--help: print the parser's help and exit 1
	actionVersion                  // -v/--version: print the version and exit 0
)

// argument is one optional argument (argparse4j's Argument).
type argument struct {
	flags    []string // "-h", "--help"; the dest comes from the first long flag
	help     string
	metavar  string // empty: the dest upper-cased
	typ      argType
	required bool
	action   argAction
	group    int // index+1 into parser.groups; 0 = the default group
}

// dest is argparse4j's destination name: the first long flag without its
// dashes, '-' turned into '_'.
func (a *argument) dest() string {
	for _, f := range a.flags {
		if strings.HasPrefix(f, "--") {
			return strings.ReplaceAll(f[2:], "-", "_")
		}
	}
	return strings.TrimLeft(a.flags[0], "-")
}

func (a *argument) takesValue() bool { return a.action == actionStore }

func (a *argument) meta() string {
	if a.metavar != "" {
		return a.metavar
	}
	return strings.ToUpper(a.dest())
}

// textualName is how errors name the argument: its flags joined by '/'.
func (a *argument) textualName() string { return strings.Join(a.flags, "/") }

// shortSyntax is the argument in the usage line: "[-h]", "--topic TOPIC".
func (a *argument) shortSyntax() string {
	s := a.flags[0]
	if a.takesValue() {
		s += " " + a.meta()
	}
	if !a.required {
		s = "[" + s + "]"
	}
	return s
}

// helpTitle is the argument in the help table: "-h, --help", "--topic TOPIC".
func (a *argument) helpTitle() string {
	if !a.takesValue() {
		return strings.Join(a.flags, ", ")
	}
	parts := make([]string, len(a.flags))
	for i, f := range a.flags {
		parts[i] = f + " " + a.meta()
	}
	return strings.Join(parts, ", ")
}

// argGroup is an argument group: a titled block of the help.
type argGroup struct {
	title, description string
}

// parser is one argparse4j ArgumentParser: the main one or a sub-command's.
type parser struct {
	prog        string
	command     string  // the sub-command's name; empty for the main parser
	main        *parser // the main parser of a sub-command
	help        string  // the sub-command's line in the main parser's help
	description string
	args        []*argument
	groups      []argGroup
	subTitle    string    // title of the sub-commands' block ("commands")
	subMetavar  string    // their metavar ("COMMAND")
	subs        []*parser // sub-commands, in declaration order
}

func (p *parser) add(a *argument) *argument {
	p.args = append(p.args, a)
	return a
}

func (p *parser) addGroup(title, description string) int {
	p.groups = append(p.groups, argGroup{title: title, description: description})
	return len(p.groups)
}

// namespace holds the parsed values by dest, converted to their types.
type namespace map[string]any

func (n namespace) str(dest string) (string, bool) {
	v, ok := n[dest].(string)
	return v, ok
}

func (n namespace) int32(dest string) (int32, bool) {
	v, ok := n[dest].(int32)
	return v, ok
}

func (n namespace) int64(dest string) (int64, bool) {
	v, ok := n[dest].(int64)
	return v, ok
}

func (n namespace) int16(dest string) (int16, bool) {
	v, ok := n[dest].(int16)
	return v, ok
}

// parseError is an ArgumentParserException: the parser whose usage
// precedes the message, and the "Did you mean" candidates that follow it.
type parseError struct {
	p          *parser
	msg        string
	candidates []string
}

func (e *parseError) Error() string { return e.msg }

// helpRequested is -h: print p's help on stdout, exit 1 (argparse4j's
// HelpScreenException reaches parser.handleError, which prints nothing
// more, and the tool then exits with 1).
type helpRequested struct{ p *parser }

func (helpRequested) Error() string { return "help" }

// versionRequested is -v: print the version on stdout, exit 0.
type versionRequested struct{}

func (versionRequested) Error() string { return "version" }

// parse parses args with the main parser p: its options up to the
// sub-command, then the sub-command's. The order of the checks is
// argparse4j 0.7.0's as seen from Kafka's tool: errors in the tokens
// (unknown options, missing or unconvertible values, an unknown command)
// come first, in order; then a missing command ("too few arguments"), then
// the main parser's required options, then the sub-command's.
func (p *parser) parse(args []string) (namespace, *parser, error) {
	ns := namespace{}
	used := map[*argument]bool{}
	i, err := p.parseOptions(args, 0, ns, used)
	if err != nil {
		return nil, nil, err
	}
	if i >= len(args) {
		return nil, nil, &parseError{p: p, msg: "too few arguments"}
	}
	name := args[i]
	// A command may be abbreviated to a unique prefix, as an option.
	var sub *parser
	var prefixed []string
	for _, s := range p.subs {
		if s.command == name {
			sub = s
			break
		}
		if strings.HasPrefix(s.command, name) {
			prefixed = append(prefixed, s.command)
		}
	}
	if sub == nil && len(prefixed) > 1 {
		return nil, nil, &parseError{p: p, msg: fmt.Sprintf("ambiguous command: %s could match %s", name, strings.Join(prefixed, ", "))}
	}
	if sub == nil && len(prefixed) == 1 {
		for _, s := range p.subs {
			if s.command == prefixed[0] {
				sub = s
			}
		}
	}
	if sub == nil {
		names := make([]string, len(p.subs))
		quoted := make([]string, len(p.subs))
		for j, s := range p.subs {
			names[j] = s.command
			quoted[j] = "'" + s.command + "'"
		}
		return nil, nil, &parseError{p: p,
			msg:        fmt.Sprintf("invalid choice: '%s' (choose from %s)", name, strings.Join(quoted, ", ")),
			candidates: candidates(name, names, names)}
	}
	ns["command"] = sub.command
	subUsed := map[*argument]bool{}
	j, err := sub.parseOptions(args, i+1, ns, subUsed)
	if err != nil {
		return nil, nil, err
	}
	if j < len(args) {
		return nil, nil, &parseError{p: sub, msg: "unrecognized arguments: '" + args[j] + "'"}
	}
	if err := p.checkRequired(used); err != nil {
		return nil, nil, err
	}
	if err := sub.checkRequired(subUsed); err != nil {
		return nil, nil, err
	}
	return ns, sub, nil
}

func (p *parser) checkRequired(used map[*argument]bool) error {
	for _, a := range p.args {
		if a.required && !used[a] {
			return &parseError{p: p, msg: fmt.Sprintf("argument %s is required", a.textualName())}
		}
	}
	return nil
}

// parseOptions consumes options from args[i:] and returns the index of the
// first positional token (the sub-command for the main parser; an
// unrecognized argument for a sub-command's).
func (p *parser) parseOptions(args []string, i int, ns namespace, used map[*argument]bool) (int, error) {
	for ; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			// Everything after "--" is positional; none is expected here.
			if i+1 < len(args) {
				return 0, &parseError{p: p, msg: "unrecognized arguments: '" + args[i+1] + "'"}
			}
			return len(args), nil
		}
		if !looksLikeFlag(tok) {
			return i, nil
		}
		flag, embedded, hasEmbedded := tok, "", false
		if strings.HasPrefix(tok, "--") {
			if k := strings.IndexByte(tok, '='); k >= 0 {
				flag, embedded, hasEmbedded = tok[:k], tok[k+1:], true
			}
		}
		a, err := p.lookup(flag)
		if err != nil {
			return 0, err
		}
		if a == nil {
			return 0, p.unrecognized(tok)
		}
		switch a.action {
		case actionHelp:
			return 0, helpRequested{p: p}
		case actionVersion:
			return 0, versionRequested{}
		}
		var val string
		switch {
		case hasEmbedded:
			val = embedded
		case i+1 < len(args) && !looksLikeFlag(args[i+1]) && args[i+1] != "--":
			i++
			val = args[i]
		default:
			return 0, &parseError{p: p, msg: fmt.Sprintf("argument %s: expected one argument", a.textualName())}
		}
		v, err := convert(a, val)
		if err != nil {
			return 0, &parseError{p: p, msg: fmt.Sprintf("argument %s: %s", a.textualName(), err.Error())}
		}
		ns[a.dest()] = v
		used[a] = true
	}
	return i, nil
}

// looksLikeFlag is argparse4j's flagFound: a token of 2+ characters
// starting with '-' that is not a negative integer (-\d+).
func looksLikeFlag(tok string) bool {
	return len(tok) >= 2 && tok[0] == '-' && !isNegativeInteger(tok)
}

func isNegativeInteger(tok string) bool {
	if len(tok) < 2 || tok[0] != '-' {
		return false
	}
	for _, c := range tok[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// lookup resolves a flag exactly or by a unique prefix of a long flag
// (argparse4j matches abbreviations of long options).
func (p *parser) lookup(flag string) (*argument, error) {
	var prefixed []*argument
	var names []string
	for _, a := range p.args {
		for _, f := range a.flags {
			if f == flag {
				return a, nil
			}
			if strings.HasPrefix(flag, "--") && strings.HasPrefix(f, flag) {
				prefixed = append(prefixed, a)
				names = append(names, f)
			}
		}
	}
	switch len(prefixed) {
	case 0:
		return nil, nil
	case 1:
		return prefixed[0], nil
	}
	return nil, &parseError{p: p, msg: fmt.Sprintf("ambiguous option: %s could match %s", flag, strings.Join(names, ", "))}
}

// unrecognized is the error for an unknown option; argparse4j suggests
// similar flags when the unknown one has a body of 2+ characters.
func (p *parser) unrecognized(tok string) error {
	e := &parseError{p: p, msg: "unrecognized arguments: '" + tok + "'"}
	body := strings.TrimLeft(tok, "-")
	if len(body) >= 2 {
		var subjects, bodies []string
		for _, a := range p.args {
			for _, f := range a.flags {
				if b := strings.TrimLeft(f, "-"); len(b) > 1 {
					subjects = append(subjects, f)
					bodies = append(bodies, b)
				}
			}
		}
		e.candidates = candidates(body, subjects, bodies)
	}
	return e
}

// convert is the argument's type conversion with Java's messages
// (Integer.valueOf, Long.valueOf, Short.valueOf).
func convert(a *argument, val string) (any, error) {
	fail := func(detail string) error {
		return fmt.Errorf("could not convert '%s' to %s (%s)", val, a.typ, detail)
	}
	forInput := fmt.Sprintf("For input string: \"%s\"", val)
	switch a.typ {
	case typeInteger:
		n, err := parseJavaInt(val, 32)
		if err != nil {
			return nil, fail(forInput)
		}
		return int32(n), nil
	case typeLong:
		n, err := parseJavaInt(val, 64)
		if err != nil {
			return nil, fail(forInput)
		}
		return n, nil
	case typeShort:
		n, err := parseJavaInt(val, 32)
		if err != nil {
			return nil, fail(forInput)
		}
		if n < math.MinInt16 || n > math.MaxInt16 {
			return nil, fail(fmt.Sprintf("Value out of range. Value:\"%s\" Radix:10", val))
		}
		return int16(n), nil
	}
	return val, nil
}

// parseJavaInt is Integer/Long.parseInt in radix 10: an optional sign and
// ASCII digits only.
func parseJavaInt(s string, bits int) (int64, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" {
		return 0, strconv.ErrSyntax
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, bits)
}

// candidates is argparse4j's printCandidates: subjects whose body starts
// with word score 0, the others a Damerau-Levenshtein distance with git's
// costs (swap 0, substitute 2, add 1, delete 4); the best-scoring ones are
// suggested unless the best score is 7 or more.
func candidates(word string, subjects, bodies []string) []string {
	type cand struct {
		score   int
		subject string
	}
	var cs []cand
	for i, b := range bodies {
		if strings.HasPrefix(b, word) {
			cs = append(cs, cand{0, subjects[i]})
			continue
		}
		cs = append(cs, cand{editDistance(word, b, 0, 2, 1, 4), subjects[i]})
	}
	if len(cs) == 0 {
		return nil
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].score != cs[j].score {
			return cs[i].score < cs[j].score
		}
		return cs[i].subject < cs[j].subject
	})
	if cs[0].score >= 7 {
		return nil
	}
	var out []string
	for _, c := range cs {
		if c.score > cs[0].score {
			break
		}
		out = append(out, c.subject)
	}
	return out
}

// editDistance turns a into b: the optimal-string-alignment variant of
// Damerau-Levenshtein with the given costs.
func editDistance(a, b string, swap, sub, add, del int) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j * add
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i * del
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c += sub
			}
			if i >= 2 && j >= 2 && a[i-1] != b[j-1] && a[i-2] == b[j-1] && a[i-1] == b[j-2] {
				c = min(c, prev2[j-2]+swap)
			}
			c = min(c, prev[j]+del, cur[j-1]+add)
			cur[j] = c
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// usage is the parser's usage line(s): "usage: PROG", the main parser's
// required options (for a sub-command), the command, each argument's short
// syntax, the sub-commands' metavar; wrapped at formatWidth with the
// continuation indented under the first option.
func (p *parser) usage() string {
	head := "usage: " + p.prog
	var b strings.Builder
	b.WriteString(head)
	offset, first, next := len(head), "", strings.Repeat(" ", len(head))
	if len(head) > 30 {
		b.WriteString("\n")
		offset, first, next = 6, "      ", "      "
	}
	var tokens []string
	if p.main != nil {
		for _, a := range p.main.args {
			if a.required {
				tokens = append(tokens, strings.Trim(a.shortSyntax(), "[]"))
			}
		}
		tokens = append(tokens, p.command)
	}
	for _, a := range p.args {
		tokens = append(tokens, a.shortSyntax())
	}
	if len(p.subs) > 0 {
		tokens = append(tokens, p.subMetavar, "...")
	}
	width := offset + len(first)
	b.WriteString(first)
	for i, t := range tokens {
		if i > 0 && width+len(t)+1 > formatWidth {
			b.WriteString("\n" + next + " " + t)
			width = len(next) + 1 + len(t)
			continue
		}
		b.WriteString(" " + t)
		width += 1 + len(t)
	}
	b.WriteString("\n")
	return b.String()
}

// helpText is the parser's --help: usage, description, the default group's
// arguments, the sub-commands, then each argument group.
func (p *parser) helpText() string {
	var b strings.Builder
	b.WriteString(p.usage())
	if p.description != "" {
		b.WriteString("\n" + wrap(p.description, formatWidth, 0, "", "") + "\n")
	}
	var plain []*argument
	for _, a := range p.args {
		if a.group == 0 {
			plain = append(plain, a)
		}
	}
	if len(plain) > 0 {
		b.WriteString("\noptional arguments:\n")
		for _, a := range plain {
			b.WriteString(helpRow(a.helpTitle(), a.help))
		}
	}
	if len(p.subs) > 0 {
		b.WriteString("\n" + p.subTitle + ":\n")
		b.WriteString(helpRow(p.subMetavar, ""))
		for _, s := range p.subs {
			b.WriteString(helpRow("  "+s.command, s.help))
		}
	}
	for gi, g := range p.groups {
		b.WriteString("\n" + g.title + ":\n")
		if g.description != "" {
			b.WriteString("  " + wrap(g.description, formatWidth, 2, "", "  ") + "\n\n")
		}
		for _, a := range p.args {
			if a.group == gi+1 {
				b.WriteString(helpRow(a.helpTitle(), a.help))
			}
		}
	}
	return b.String()
}

// helpRow is TextHelper.printHelp: the title indented by 2, its help from
// column 25 (on the next line when the title is wider than 21).
func helpRow(title, help string) string {
	const indent = 25
	row := "  " + title
	if help == "" {
		return row + "\n"
	}
	pad := indent
	if len(title) <= 21 {
		pad -= len(title) + 2
	} else {
		row += "\n"
	}
	return row + strings.Repeat(" ", pad) + wrap(help, formatWidth, indent, "", strings.Repeat(" ", indent)) + "\n"
}

// errorText is ArgumentParser.handleError: usage, then "PROG: error: MSG"
// wrapped, then the candidates.
func (e *parseError) text() string {
	var b strings.Builder
	b.WriteString(e.p.usage())
	b.WriteString(wrap(fmt.Sprintf("%s: error: %s\n", e.p.prog, e.msg), formatWidth, 0, "", ""))
	if len(e.candidates) > 0 {
		b.WriteString("\nDid you mean:\n")
		for _, c := range e.candidates {
			b.WriteString("\t" + c + "\n")
		}
	}
	return b.String()
}

// wrap is TextHelper.wrap: s cut into line-break segments (as Java's line
// BreakIterator finds them), lines filled up to width and each full line
// justified by adjustSpace; offset is the column the text starts at.
func wrap(s string, width, offset int, firstIndent, nextIndent string) string {
	var res, line strings.Builder
	res.WriteString(firstIndent)
	cur := offset + len(firstIndent)
	for _, seg := range breakSegments(s) {
		cur += len(seg)
		if cur > width {
			res.WriteString(justify(line.String(), width, cur-len(seg)))
			res.WriteString("\n" + nextIndent)
			line.Reset()
			cur = len(nextIndent) + len(seg)
		}
		line.WriteString(seg)
		if strings.HasSuffix(seg, "\n") {
			res.WriteString(line.String() + nextIndent)
			line.Reset()
			cur = len(nextIndent)
		}
	}
	res.WriteString(line.String())
	return res.String()
}

// breakSegments splits s after each run of spaces, after a newline, and
// after a hyphen followed by a letter: the line-break opportunities of
// Java's BreakIterator.getLineInstance for the text this tool prints.
func breakSegments(s string) []string {
	var segs []string
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var next byte
		if i+1 < len(s) {
			next = s[i+1]
		}
		brk := false
		switch {
		case c == '\n':
			brk = true
		case c == ' ':
			brk = next != ' ' && next != 0
		case c == '-':
			brk = isLetter(next)
		}
		if brk {
			segs = append(segs, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		segs = append(segs, s[start:])
	}
	return segs
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// justify is TextHelper.adjustSpace: the line without its leading and
// trailing spaces, widened to width by adding spaces to its gaps evenly,
// the remainder to the gaps in the middle.
func justify(line string, width, curWidth int) string {
	trimmed := strings.Trim(line, " ")
	curWidth -= len(line) - len(trimmed)
	// Runs of spaces are the gaps.
	var words, gaps []string
	i := 0
	for i < len(trimmed) {
		j := i
		for j < len(trimmed) && trimmed[j] != ' ' {
			j++
		}
		words = append(words, trimmed[i:j])
		k := j
		for k < len(trimmed) && trimmed[k] == ' ' {
			k++
		}
		if k > j {
			gaps = append(gaps, trimmed[j:k])
		}
		i = k
	}
	if len(gaps) == 0 {
		return trimmed
	}
	need := width - curWidth
	each, rem := need/len(gaps), need%len(gaps)
	remStart := (len(gaps) - rem + 1) / 2
	remEnd := remStart + rem
	var b strings.Builder
	for gi, w := range words {
		b.WriteString(w)
		if gi < len(gaps) {
			add := each
			if remStart <= gi && gi < remEnd {
				add++
			}
			b.WriteString(strings.Repeat(" ", add) + gaps[gi])
		}
	}
	return b.String()
}
