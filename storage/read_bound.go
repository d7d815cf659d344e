package storage

// batchBoundaryWithin returns the end of the last whole batch that starts
// at or after pos and ends at or before limit (pos itself when even the
// first batch does not fit). Fetch responses then carry whole batches, so
// clients never download a partial trailing batch only to fetch it again.
// The offset index gives the last indexed batch start at or before limit;
// from there at most one index interval of headers is read.
func (s *segment) batchBoundaryWithin(pos, limit int64) (int64, error) {
	if limit >= s.size {
		return s.size, nil
	}
	start := pos
	// Index positions grow with the offsets: binary search for the last entry at or before limit.
	lo, hi := 0, s.oidx.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int64(s.oidx.at(mid).pos) <= limit {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > 0 {
		start = max(start, int64(s.oidx.at(lo-1).pos))
	}
	sc := &scanner{fs: s.fs, f: s.log, pos: start, end: s.size, buf: make([]byte, BatchHeaderSize), bufPos: -1}
	boundary := start
	for {
		h, at, ok, err := sc.next()
		if err != nil {
			return 0, err
		}
		if !ok || at+h.Size() > limit {
			return boundary, nil
		}
		boundary = at + h.Size()
	}
}
