package consumergroups

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// missing is MISSING_COLUMN_VALUE.
const missing = "-"

// offsetRow is a PartitionAssignmentState rendered: missing values are "-".
type offsetRow struct {
	Group, Topic, Partition, Offset, LEO, Lag, ConsumerID, Host, ClientID string
}

// pad is Java's %-Ns: s left-justified in a field of at least n characters.
func pad(s string, n int) string {
	if l := utf8.RuneCountInString(s); l < n {
		return s + strings.Repeat(" ", n-l)
	}
	return s
}

func width(min int, values ...string) int {
	for _, v := range values {
		min = max(min, utf8.RuneCountInString(v))
	}
	return min
}

// printOffsets is printOffsets for one group: a blank line, the header and the rows, the variable
// columns at least 15 wide.
func printOffsets(w io.Writer, rows []offsetRow) {
	g, t, c, h := 15, 15, 15, 15
	for _, r := range rows {
		g, t, c, h = width(g, r.Group), width(t, r.Topic), width(c, r.ConsumerID), width(h, r.Host)
	}
	line := func(r offsetRow) string {
		return pad(r.Group, g) + " " + pad(r.Topic, t) + " " + pad(r.Partition, 10) + " " + pad(r.Offset, 15) + " " +
			pad(r.LEO, 15) + " " + pad(r.Lag, 15) + " " + pad(r.ConsumerID, c) + " " + pad(r.Host, h) + " " + r.ClientID
	}
	fmt.Fprintln(w, "\n"+line(offsetRow{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}))
	for _, r := range rows {
		fmt.Fprintln(w, line(r))
	}
}

// printMembers is printMembers for one group. GROUP-INSTANCE-ID appears when a member has one; every
// line ends with the padded #PARTITIONS column and a space (then ASSIGNMENT with --verbose).
func printMembers(w io.Writer, group string, members []member, verbose bool) {
	g, c, gi, h, cl := 15, 15, 17, 15, 15
	withInstance := false
	for _, m := range members {
		g, c, gi, h, cl = width(g, group), width(c, m.ID), width(gi, m.InstanceID), width(h, m.Host), width(cl, m.ClientID)
		withInstance = withInstance || m.InstanceID != ""
	}
	line := func(grp, id, instance, host, client, parts string) string {
		if withInstance {
			return pad(grp, g) + " " + pad(id, c) + " " + pad(instance, gi) + " " + pad(host, h) + " " + pad(client, cl) + " " + pad(parts, 15) + " "
		}
		return pad(grp, g) + " " + pad(id, c) + " " + pad(host, h) + " " + pad(client, cl) + " " + pad(parts, 15) + " "
	}
	head := line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
	if verbose {
		head += "ASSIGNMENT"
	}
	fmt.Fprintln(w, "\n"+head)
	for _, m := range members {
		assigned := dedupe(m.Assignment)
		l := line(group, m.ID, m.InstanceID, m.Host, m.ClientID, strconv.Itoa(len(assigned)))
		if verbose {
			l += assignmentString(assigned)
		}
		fmt.Fprintln(w, l)
	}
}

// assignmentString is the ASSIGNMENT column as Kafka 3.9 prints it: per topic its partitions, without the
// topic's name (the Java port of the tool dropped it: "(0,1), (2)"), partitions and topics sorted as
// strings (so 10 before 2); "-" when empty.
func assignmentString(tps []tp) string {
	if len(tps) == 0 {
		return missing
	}
	byTopic := map[string][]string{}
	for _, t := range tps {
		byTopic[t.Topic] = append(byTopic[t.Topic], strconv.Itoa(int(t.Partition)))
	}
	var parts []string
	for _, ps := range byTopic {
		sort.Strings(ps)
		parts = append(parts, "("+strings.Join(ps, ",")+")")
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// printState is printStates for one group. Kafka pads the GROUP column to the coordinator column's
// width (at least 25), and starts both the header and the row with a newline.
func printState(w io.Writer, d groupDesc) {
	coord := fmt.Sprintf("%s:%d  (%d)", d.Coordinator.Host, d.Coordinator.Port, d.Coordinator.ID)
	cw := max(25, utf8.RuneCountInString(coord))
	line := func(a, b, c, st, n string) string {
		return "\n" + pad(a, cw) + " " + pad(b, 25) + " " + pad(c, 20) + " " + pad(st, 15) + " " + n
	}
	io.WriteString(w, line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"))
	io.WriteString(w, line(d.Group, coord, d.Protocol, d.State, strconv.Itoa(len(d.Members))))
	io.WriteString(w, "\n")
}

// printGroupStates is the --list --state table, printGroupInfo in Kafka 3.9: the GROUP column is the
// longest group id (at least 15) plus 10 wide, the STATE column padded to 20 ("%-Ns %-20s%n").
func printGroupStates(w io.Writer, ls []groupListing) {
	n := 15
	for _, l := range ls {
		n = width(n, l.Group)
	}
	n += 10
	fmt.Fprintln(w, pad("GROUP", n)+" "+pad("STATE", 20))
	for _, l := range ls {
		state := l.State
		if state == "" {
			state = "Unknown"
		}
		fmt.Fprintln(w, pad(l.Group, n)+" "+pad(state, 20))
	}
}

// tpOffset is one partition's new offset in a reset plan.
type tpOffset struct {
	TP     tp
	Offset int64
}

// groupPlan is one group's reset plan, in the order Kafka iterates it.
type groupPlan struct {
	Group   string
	Offsets []tpOffset
}

// printOffsetsToReset is the dry-run/execute table: one header for all groups when there is any.
func printOffsetsToReset(w io.Writer, plans []groupPlan) {
	if len(plans) == 0 {
		return
	}
	line := func(a, b, c, d string) string {
		return pad(a, 30) + " " + pad(b, 30) + " " + pad(c, 10) + " " + pad(d, 15)
	}
	fmt.Fprintln(w, "\n"+line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"))
	for _, p := range plans {
		for _, o := range p.Offsets {
			fmt.Fprintln(w, line(p.Group, o.TP.Topic, strconv.Itoa(int(o.TP.Partition)), strconv.FormatInt(o.Offset, 10)))
		}
	}
}

// exportCSV is exportOffsetsToCsv: "topic,partition,offset" rows for a single --group, else with the
// group first; strings quoted as Jackson's CsvMapper quotes them.
func exportCSV(plans []groupPlan, singleGroup bool) string {
	var b strings.Builder
	for _, p := range plans {
		for _, o := range p.Offsets {
			if !singleGroup {
				b.WriteString(csvQuote(p.Group) + ",")
			}
			fmt.Fprintf(&b, "%s,%d,%d\n", csvQuote(o.TP.Topic), o.TP.Partition, o.Offset)
		}
	}
	return b.String()
}

// csvQuote is Jackson CSV's loose quoting: a value longer than 24 characters, or holding a character
// below '-' (which covers the separator, quotes and line breaks), is quoted, quotes doubled.
func csvQuote(s string) string {
	need := len([]rune(s)) > 24
	for _, r := range s {
		need = need || r < '-'
	}
	if !need {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

type deleteOffsetRow struct{ Topic, Partition, Status string }

// printDeleteOffsets is the --delete-offsets result table.
func printDeleteOffsets(w io.Writer, rows []deleteOffsetRow) {
	line := func(a, b, c string) string { return pad(a, 30) + " " + pad(b, 15) + " " + pad(c, 15) }
	fmt.Fprintln(w, "\n"+line("TOPIC", "PARTITION", "STATUS"))
	for _, r := range rows {
		fmt.Fprintln(w, line(r.Topic, r.Partition, r.Status))
	}
}
