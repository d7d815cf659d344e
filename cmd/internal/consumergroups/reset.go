package consumergroups

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// resetOffsets plans (and with --execute commits) the new offsets of each group; a group that is not
// inactive gets an error line and an empty plan.
func (s *service) resetOffsets(ctx context.Context) ([]groupPlan, error) {
	groups, err := s.groupIDs(ctx)
	if err != nil {
		return nil, err
	}
	descs, err := s.describe(ctx, groups)
	if err != nil {
		return nil, err
	}
	// describedGroups() is a HashMap by group id; the plans are folded into a Scala Map.
	ids := sortedKeys(descs)
	ids = reorder(ids, cli.JavaHashMapOrder(cli.JavaStringHashes(ids)))
	plans := map[string][]tpOffset{}
	for _, g := range ids {
		switch state := descs[g].State; state {
		case "Empty", "Dead":
			partitions, err := s.partitionsToReset(ctx, g)
			if err != nil {
				return nil, err
			}
			prepared, err := s.prepareOffsetsToReset(ctx, g, partitions)
			if err != nil {
				return nil, err
			}
			if s.o.Has("execute") && !s.o.Has("dry-run") {
				offs := make(map[tp]int64, len(prepared))
				for _, p := range prepared {
					offs[p.TP] = p.Offset
				}
				c, cancel, err := s.call(ctx)
				if err != nil {
					return nil, err
				}
				err = s.adm.AlterOffsets(c, g, offs)
				cancel()
				if err != nil {
					return nil, err
				}
			}
			plans[g] = prepared
		default:
			s.printError(fmt.Sprintf("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", g, state))
			plans[g] = nil
		}
	}
	order := reorder(ids, scalaMapOrder(cli.JavaStringHashes(ids)))
	out := make([]groupPlan, len(order))
	for i, g := range order {
		out[i] = groupPlan{Group: g, Offsets: plans[g]}
	}
	return out, nil
}

// partitionsToReset is getPartitionsToReset: the scope of the reset.
func (s *service) partitionsToReset(ctx context.Context, group string) ([]tp, error) {
	switch {
	case s.o.Has("all-topics"):
		_, order, err := s.committed(ctx, group)
		return order, err
	case s.o.Has("topic"):
		return s.topicPartitionsToReset(ctx, s.o.Values["topic"])
	case s.o.Has("from-file"):
		return nil, nil
	}
	return nil, &usageError{"One of the reset scopes should be defined: --all-topics, --topic."}
}

// topicPartitionsToReset is parseTopicPartitionsToReset: "topic:0,1" arguments first, then every
// partition of the plain topics (in the order of the HashMap of their descriptions).
func (s *service) topicPartitionsToReset(ctx context.Context, args []string) ([]tp, error) {
	var out []tp
	var plain []string
	for _, a := range args {
		if !strings.Contains(a, ":") {
			plain = append(plain, a)
			continue
		}
		tps, err := parseTopicWithPartitions(a)
		if err != nil {
			return nil, err
		}
		out = append(out, tps...)
	}
	if len(plain) == 0 {
		return out, nil
	}
	plain = dedupe(plain)
	c, cancel, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	parts, errs, err := s.adm.TopicPartitions(c, plain)
	if err != nil {
		return nil, err
	}
	for _, t := range plain { // allTopicNames() fails with the first failed topic
		if e := errs[t]; e != nil {
			return nil, e
		}
		if _, ok := parts[t]; !ok {
			return nil, javaErr(3, nil)
		}
	}
	table := 1
	for table < len(plain) {
		table *= 2
	}
	for _, t := range reorder(plain, cli.JavaHashOrder(cli.JavaStringHashes(plain), cli.JavaTableSize(len(plain), table))) {
		for _, p := range parts[t] {
			out = append(out, tp{t, p})
		}
	}
	return out, nil
}

// javaSplit is String.split with a literal separator: trailing empty strings are removed.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 1 && parts[0] == "" && s != "" {
		return nil
	}
	return parts
}

// parseTopicWithPartitions is parseTopicsWithPartitions: "topic:0,1,2".
func parseTopicWithPartitions(arg string) ([]tp, error) {
	parts := javaSplit(arg, ":")
	if len(parts) != 2 {
		return nil, &usageError{fmt.Sprintf("Invalid topic arg '%s', expected topic name and partitions", arg)}
	}
	var out []tp
	for _, p := range javaSplit(parts[1], ",") {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("Invalid partition '%s' specified in topic arg '%s''", p, arg)}
		}
		out = append(out, tp{parts[0], int32(n)})
	}
	return out, nil
}

// prepareOffsetsToReset computes a group's new offsets, in the order of the Scala Map Kafka builds.
func (s *service) prepareOffsetsToReset(ctx context.Context, group string, partitions []tp) ([]tpOffset, error) {
	partitions = dedupe(partitions)
	o := s.o
	switch {
	case o.Has("to-offset"):
		v, err := o.LongValue("to-offset")
		if err != nil {
			return nil, err
		}
		req := make([]tpOffset, len(partitions))
		for i, t := range partitions {
			req[i] = tpOffset{t, *v}
		}
		return s.checkOffsetsRange(ctx, req)
	case o.Has("to-earliest"), o.Has("to-latest"):
		spec, what := int64(-2), "starting"
		if o.Has("to-latest") {
			spec, what = -1, "ending"
		}
		offs, err := s.listOffsets(ctx, partitions, spec)
		if err != nil {
			return nil, err
		}
		var out []tpOffset
		for _, t := range inScalaMapOrder(partitions) {
			off, ok := offs[t]
			if !ok {
				return nil, &usageError{fmt.Sprintf("Error getting %s offset of topic partition: %s", what, t)}
			}
			out = append(out, tpOffset{t, off})
		}
		return out, nil
	case o.Has("shift-by"):
		committed, _, err := s.committed(ctx, group)
		if err != nil {
			return nil, err
		}
		shift, err := o.LongValue("shift-by")
		if err != nil {
			return nil, err
		}
		req := make([]tpOffset, len(partitions))
		for i, t := range partitions {
			cur, ok := committed[t]
			if !ok || cur < 0 {
				return nil, &usageError{fmt.Sprintf("Cannot shift offset for partition %s since there is no current committed offset", t)}
			}
			req[i] = tpOffset{t, cur + *shift}
		}
		return s.checkOffsetsRange(ctx, req)
	case o.Has("to-datetime"):
		v, _ := o.Value("to-datetime")
		ts, err := parseDateTime(v)
		if err != nil {
			return nil, err
		}
		return s.timestampOffsets(ctx, partitions, ts)
	case o.Has("by-duration"):
		v, _ := o.Value("by-duration")
		d, err := parseDuration(v)
		if err != nil {
			return nil, err
		}
		return s.timestampOffsets(ctx, partitions, s.now().Add(-d).UnixMilli())
	case o.Has("from-file"):
		plan, err := s.resetPlan()
		if err != nil {
			return nil, err
		}
		req, ok := plan[group]
		if !ok {
			s.printError(fmt.Sprintf("No reset plan for group %s found", group))
			return nil, nil
		}
		return s.checkOffsetsRange(ctx, req)
	case o.Has("to-current"):
		committed, _, err := s.committed(ctx, group)
		if err != nil {
			return nil, err
		}
		var with []tpOffset
		var without []tp
		for _, t := range partitions {
			if cur, ok := committed[t]; ok && cur >= 0 {
				with = append(with, tpOffset{t, cur})
			} else {
				without = append(without, t)
			}
		}
		ends, err := s.listOffsets(ctx, without, -1)
		if err != nil {
			return nil, err
		}
		for _, t := range inScalaMapOrder(without) {
			end, ok := ends[t]
			if !ok {
				return nil, &usageError{fmt.Sprintf("Error getting ending offset of topic partition: %s", t)}
			}
			with = append(with, tpOffset{t, end})
		}
		return inScalaOrder(with), nil
	}
	names := make([]string, len(resetScenarios))
	for i, n := range resetScenarios {
		names[i] = "[" + n + "]"
	}
	return nil, &usageError{fmt.Sprintf("Option '[reset-offsets]' requires one of the following scenarios: HashSet(%s)", strings.Join(names, ", "))}
}

// inScalaOrder orders a plan as a Scala immutable Map of it iterates.
func inScalaOrder(offs []tpOffset) []tpOffset {
	keys := make([]tp, len(offs))
	for i, o := range offs {
		keys[i] = o.TP
	}
	return reorder(offs, scalaMapOrder(tpHashes(keys)))
}

// timestampOffsets is getLogTimestampOffsets: the first offset at or after ts, or the log-end offset
// (with a warning) for a partition without one.
func (s *service) timestampOffsets(ctx context.Context, partitions []tp, ts int64) ([]tpOffset, error) {
	offs, err := s.listOffsets(ctx, partitions, ts)
	if err != nil {
		return nil, err
	}
	var empty []tp
	for _, t := range inJavaHashMapOrder(partitions) {
		if off, ok := offs[t]; ok && off == -1 {
			fmt.Fprintf(s.stdout, "\nWarn: Partition %d from topic %s is empty. Falling back to latest known offset.\n", t.Partition, t.Topic)
			empty = append(empty, t)
		}
	}
	ends, err := s.listOffsets(ctx, empty, -1)
	if err != nil {
		return nil, err
	}
	for t, end := range ends {
		offs[t] = end
	}
	var out []tpOffset
	for _, t := range inScalaMapOrder(partitions) {
		off, ok := offs[t]
		if !ok {
			return nil, &usageError{fmt.Sprintf("Error getting offset by timestamp of topic partition: %s", t)}
		}
		out = append(out, tpOffset{t, off})
	}
	return out, nil
}

// checkOffsetsRange clamps requested offsets into [log start, log end], warning for each one moved.
func (s *service) checkOffsetsRange(ctx context.Context, req []tpOffset) ([]tpOffset, error) {
	req = inScalaOrder(req)
	keys := make([]tp, len(req))
	for i, r := range req {
		keys[i] = r.TP
	}
	starts, err := s.listOffsets(ctx, keys, -2)
	if err != nil {
		return nil, err
	}
	ends, err := s.listOffsets(ctx, keys, -1)
	if err != nil {
		return nil, err
	}
	out := make([]tpOffset, len(req))
	for i, r := range req {
		end, ok := ends[r.TP]
		if !ok {
			return nil, &thrown{class: "java.lang.IllegalStateException", msg: fmt.Sprintf("Unexpected non-existing offset value for topic partition %s", r.TP)}
		}
		off := r.Offset
		if off > end {
			s.warn(fmt.Sprintf("New offset (%d) is higher than latest offset for topic partition %s. Value will be set to %d", off, r.TP, end))
			off = end
		} else if start, ok := starts[r.TP]; ok && off < start {
			s.warn(fmt.Sprintf("New offset (%d) is lower than earliest offset for topic partition %s. Value will be set to %d", off, r.TP, start))
			off = start
		}
		out[i] = tpOffset{r.TP, off}
	}
	return out, nil
}

// resetPlan reads --from-file once.
func (s *service) resetPlan() (map[string][]tpOffset, error) {
	if !s.planLoaded {
		s.planLoaded = true
		path, _ := s.o.Value("from-file")
		data, err := s.readFile(path)
		if err != nil {
			s.planErr = &thrown{class: "java.nio.file.NoSuchFileException", msg: path}
		} else {
			group := ""
			if gs := s.o.Values["group"]; len(gs) == 1 {
				group = gs[0]
			}
			s.plan, s.planErr = parseResetPlan(string(data), group)
		}
	}
	return s.plan, s.planErr
}

// parseResetPlan is parseResetPlan: "topic,partition,offset" lines when a single --group is given
// (singleGroup) and the first line is in that format, else "group,topic,partition,offset".
func parseResetPlan(csv, singleGroup string) (map[string][]tpOffset, error) {
	lines := javaSplit(csv, "\n")
	old := false
	if singleGroup != "" && len(lines) > 0 {
		_, err := parseCSVRecord(lines[0], false)
		old = err == nil
	}
	plan := map[string][]tpOffset{}
	for _, line := range lines {
		r, err := parseCSVRecord(line, !old)
		if err != nil {
			return nil, err
		}
		if old {
			r.group = singleGroup
		}
		// Map.updated keeps a partition's first position and takes the last offset.
		replaced := false
		for i, p := range plan[r.group] {
			if p.TP == r.tp {
				plan[r.group][i].Offset = r.offset
				replaced = true
			}
		}
		if !replaced {
			plan[r.group] = append(plan[r.group], tpOffset{r.tp, r.offset})
		}
	}
	return plan, nil
}

type csvRecord struct {
	group  string
	tp     tp
	offset int64
}

// parseCSVRecord reads one line with Jackson's CSV rules (quoted fields, doubled quotes) as
// [group,]topic,partition,offset.
func parseCSVRecord(line string, withGroup bool) (csvRecord, error) {
	fields, err := splitCSV(line)
	if err != nil {
		return csvRecord{}, err
	}
	want := 3
	if withGroup {
		want = 4
	}
	if len(fields) > want {
		return csvRecord{}, &thrown{class: "com.fasterxml.jackson.dataformat.csv.CsvReadException",
			msg: fmt.Sprintf("Too many entries: expected at most %d (value #%d (%d chars) \"%s\")", want, want, len(fields[want]), fields[want])}
	}
	for len(fields) < want {
		fields = append(fields, "")
	}
	var r csvRecord
	if withGroup {
		r.group, fields = fields[0], fields[1:]
	}
	p, err := strconv.ParseInt(fields[1], 10, 32)
	if err != nil {
		return csvRecord{}, &thrown{class: "com.fasterxml.jackson.databind.exc.InvalidFormatException",
			msg: fmt.Sprintf("Cannot deserialize value of type `int` from String \"%s\": not a valid `int` value", fields[1])}
	}
	off, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return csvRecord{}, &thrown{class: "com.fasterxml.jackson.databind.exc.InvalidFormatException",
			msg: fmt.Sprintf("Cannot deserialize value of type `long` from String \"%s\": not a valid `long` value", fields[2])}
	}
	r.tp, r.offset = tp{fields[0], int32(p)}, off
	return r, nil
}

func splitCSV(line string) ([]string, error) {
	var fields []string
	var cur strings.Builder
	inQuotes, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQuotes && c == '"' && i+1 < len(line) && line[i+1] == '"':
			cur.WriteByte('"')
			i++
		case inQuotes && c == '"':
			inQuotes = false
		case inQuotes:
			cur.WriteByte(c)
		case c == '"' && cur.Len() == 0 && !quoted:
			inQuotes, quoted = true, true
		case c == ',':
			fields = append(fields, cur.String())
			cur.Reset()
			quoted = false
		case c == '\r' && i == len(line)-1:
		default:
			cur.WriteByte(c)
		}
	}
	if inQuotes {
		return nil, &thrown{class: "com.fasterxml.jackson.core.io.JsonEOFException", msg: "Unexpected end-of-input: missing closing quote for value"}
	}
	return append(fields, cur.String()), nil
}

// parseDateTime is Utils.getDateTime: yyyy-MM-dd'T'HH:mm:ss.SSS and a zone (UTC when the time part
// has none), parsed as SimpleDateFormat does when not lenient: fields are runs of digits that must be
// in range, the zone is Z, ±hh:mm or ±hh (so "+0530" is +05:00), and trailing text is ignored.
func parseDateTime(v string) (int64, error) {
	parts := javaSplit(v, "T")
	if len(parts) < 2 {
		return 0, &thrown{class: "java.text.ParseException", msg: "Error parsing timestamp. It does not contain a 'T' according to ISO8601 format"}
	}
	if !strings.ContainsAny(parts[1], "+-Z") {
		v += "Z"
	}
	unparseable := &thrown{class: "java.text.ParseException", msg: fmt.Sprintf("Unparseable date: \"%s\"", v)}
	m := dateTimeRE.FindStringSubmatch(v)
	if m == nil {
		return 0, unparseable
	}
	var f [7]int
	for i := range f {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return 0, unparseable
		}
		f[i] = n
	}
	year, month, day, hour, minute, sec, ms := f[0], f[1], f[2], f[3], f[4], f[5], f[6]
	if year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 || ms > 999 ||
		day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, unparseable
	}
	offset := 0
	if z := m[8]; z != "Z" {
		zh, _ := strconv.Atoi(z[1:3])
		zm := 0
		if len(z) > 3 {
			zm, _ = strconv.Atoi(z[4:6])
		}
		if zh > 23 || zm > 59 {
			return 0, unparseable
		}
		offset = zh*3600 + zm*60
		if z[0] == '-' {
			offset = -offset
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.FixedZone("", offset))
	return t.UnixMilli(), nil
}

var dateTimeRE = regexp.MustCompile(`^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)(Z|[+-]\d\d:\d\d|[+-]\d\d)`)

// durationRE is java.time.Duration's ISO-8601 pattern: PnDTnHnMn.nS, signed, case-insensitive.
var durationRE = regexp.MustCompile(`(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$`)

// parseDuration is Duration.parse.
func parseDuration(v string) (time.Duration, error) {
	bad := &thrown{class: "java.time.format.DateTimeParseException", msg: "Text cannot be parsed to a Duration"}
	m := durationRE.FindStringSubmatch(v)
	if m == nil || m[3] == "T" || m[2] == "" && m[3] == "" {
		return 0, bad
	}
	field := func(s string, unit time.Duration) (time.Duration, bool) {
		if s == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > int64(1<<63-1)/int64(unit) || n < -int64(1<<63-1)/int64(unit) {
			return 0, false
		}
		return time.Duration(n) * unit, true
	}
	var total time.Duration
	for _, f := range []struct {
		s    string
		unit time.Duration
	}{{m[2], 24 * time.Hour}, {m[4], time.Hour}, {m[5], time.Minute}, {m[6], time.Second}} {
		d, ok := field(f.s, f.unit)
		if !ok {
			return 0, bad
		}
		total += d
	}
	if frac := m[7]; frac != "" {
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if strings.HasPrefix(m[6], "-") {
			ns = -ns
		}
		total += time.Duration(ns)
	}
	if m[1] == "-" {
		total = -total
	}
	return total, nil
}
