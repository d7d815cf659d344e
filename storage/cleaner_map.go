package storage

import "hash/maphash"

// offsetMapEntryBytes is the memory one slot of the offset map takes: a
// 128-bit key hash and an offset (SkimpyOffsetMap's MD5 hash + long).
const offsetMapEntryBytes = 24

// offsetMap is Kafka's SkimpyOffsetMap: key hash -> latest offset in a
// fixed table of slots with linear probing, filled up to the load factor
// (log.cleaner.io.buffer.load.factor). Keys are hashed to 128 bits with
// two random seeds, so a collision (which would drop a record) is as
// unlikely as with Kafka's MD5. Not safe for concurrent use.
type offsetMap struct {
	seed1, seed2 maphash.Seed
	slots        []offsetSlot
	nslots       int
	size         int
	maxSize      int   // entries allowed before the map is "full"
	latest       int64 // largest offset recorded (latestOffset), -1 if none
}

type offsetSlot struct {
	h1, h2 uint64
	off    int64 // offset + 1; 0 marks an empty slot
}

// newOffsetMap sizes the table for memory bytes (the per-thread share of
// log.cleaner.dedupe.buffer.size); the table is allocated on first use.
func newOffsetMap(memory int64, loadFactor float64) *offsetMap {
	n := max(memory/offsetMapEntryBytes, 1)
	if loadFactor <= 0 || loadFactor > 1 {
		loadFactor = 0.9
	}
	return &offsetMap{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(),
		nslots: int(n), maxSize: max(int(float64(n)*loadFactor), 1), latest: -1}
}

// reset empties the map for the next log (SkimpyOffsetMap.clear).
func (m *offsetMap) reset() {
	if m.slots == nil {
		m.slots = make([]offsetSlot, m.nslots)
	} else {
		clear(m.slots)
	}
	m.size = 0
	m.latest = -1
	m.seed1, m.seed2 = maphash.MakeSeed(), maphash.MakeSeed()
}

func (m *offsetMap) full() bool { return m.size >= m.maxSize }

func (m *offsetMap) hash(key []byte) (uint64, uint64) {
	return maphash.Bytes(m.seed1, key), maphash.Bytes(m.seed2, key)
}

// put records offset as the latest for key; false if the map is full and
// the key is new.
func (m *offsetMap) put(key []byte, offset int64) bool {
	if len(m.slots) == 0 {
		return false
	}
	h1, h2 := m.hash(key)
	n := uint64(len(m.slots))
	for i, probes := h1%n, uint64(0); probes < n; i, probes = (i+1)%n, probes+1 {
		s := &m.slots[i]
		if s.off == 0 {
			if m.full() {
				return false
			}
			*s = offsetSlot{h1: h1, h2: h2, off: offset + 1}
			m.size++
			m.latest = max(m.latest, offset)
			return true
		}
		if s.h1 == h1 && s.h2 == h2 {
			s.off = offset + 1
			m.latest = max(m.latest, offset)
			return true
		}
	}
	return false
}

// get returns the latest offset recorded for key, -1 if none.
func (m *offsetMap) get(key []byte) int64 {
	if len(m.slots) == 0 {
		return -1
	}
	h1, h2 := m.hash(key)
	n := uint64(len(m.slots))
	for i, probes := h1%n, uint64(0); probes < n; i, probes = (i+1)%n, probes+1 {
		s := &m.slots[i]
		if s.off == 0 {
			return -1
		}
		if s.h1 == h1 && s.h2 == h2 {
			return s.off - 1
		}
	}
	return -1
}

// updateLatest moves latestOffset past a batch whose records were all
// read (SkimpyOffsetMap.updateLatestOffset).
func (m *offsetMap) updateLatest(offset int64) { m.latest = max(m.latest, offset) }
