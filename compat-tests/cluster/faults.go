package cluster

// faults is the link-level fault table; every change re-derives the
// admission rule of every broker's two proxies.
type faults struct {
	zkCut   map[int32]bool    // broker -> cut from ZooKeeper
	peerCut map[int32]bool    // broker -> cut from all other brokers (and clients)
	links   map[[2]int32]bool // (from, to) -> to refuses from's connections
	fetches map[[2]int32]bool // (from, to) -> to refuses from's replica fetcher connections only
}

// CutOff isolates broker id: it loses ZooKeeper (its ZooKeeper proxy drops
// its connections and refuses new ones) and its peers (its own proxy
// refuses everyone, other brokers' proxies refuse connections whose client
// id names it). Its connections to itself keep working.
func (c *Cluster) CutOff(id int32) {
	c.change(func(f *faults) { f.zkCut[id] = true; f.peerCut[id] = true })
}

// CutFromZK cuts broker id's ZooKeeper connections only.
func (c *Cluster) CutFromZK(id int32) { c.change(func(f *faults) { f.zkCut[id] = true }) }

// CutFromPeers cuts broker id from every other broker and client, keeping
// its ZooKeeper session.
func (c *Cluster) CutFromPeers(id int32) { c.change(func(f *faults) { f.peerCut[id] = true }) }

// CutLink makes broker to refuse (and drop) connections from broker from:
// its replica fetchers, AlterPartition and forwarding clients and, when it
// is the controller, its controller channel.
func (c *Cluster) CutLink(from, to int32) {
	c.change(func(f *faults) { f.links[[2]int32{from, to}] = true })
}

// HealLink undoes CutLink(from, to).
func (c *Cluster) HealLink(from, to int32) {
	c.change(func(f *faults) { delete(f.links, [2]int32{from, to}) })
}

// CutFetches makes broker to refuse (and drop) the replica fetcher
// connections of broker from, and only those: its controller channel,
// AlterPartition and forwarding connections keep working.
func (c *Cluster) CutFetches(from, to int32) {
	c.change(func(f *faults) { f.fetches[[2]int32{from, to}] = true })
}

// Heal undoes every fault that involves broker id.
func (c *Cluster) Heal(id int32) {
	c.change(func(f *faults) {
		delete(f.zkCut, id)
		delete(f.peerCut, id)
		for l := range f.links {
			if l[0] == id || l[1] == id {
				delete(f.links, l)
			}
		}
		for l := range f.fetches {
			if l[0] == id || l[1] == id {
				delete(f.fetches, l)
			}
		}
	})
}

// HealAll undoes every fault.
func (c *Cluster) HealAll() { c.change(func(f *faults) { *f = faults{} }) }

func (c *Cluster) change(apply func(*faults)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults.init()
	apply(&c.faults)
	c.faults.init()
	c.applyFaultsLocked()
}

func (f *faults) init() {
	if f.zkCut == nil {
		f.zkCut = map[int32]bool{}
	}
	if f.peerCut == nil {
		f.peerCut = map[int32]bool{}
	}
	if f.links == nil {
		f.links = map[[2]int32]bool{}
	}
	if f.fetches == nil {
		f.fetches = map[[2]int32]bool{}
	}
}

// applyFaultsLocked installs admission rules from a snapshot of the table
// (the proxies never see the live maps). c.mu is held.
func (c *Cluster) applyFaultsLocked() {
	zkCut := map[int32]bool{}
	peerCut := map[int32]bool{}
	links := map[[2]int32]bool{}
	for k, v := range c.faults.zkCut {
		zkCut[k] = v
	}
	for k, v := range c.faults.peerCut {
		peerCut[k] = v
	}
	for k, v := range c.faults.links {
		links[k] = v
	}
	fetches := map[[2]int32]bool{}
	for k, v := range c.faults.fetches {
		fetches[k] = v
	}
	for id, b := range c.brokers {
		to := id
		if zkCut[to] {
			b.zkProxy.setFilter(func(string) bool { return false })
		} else {
			b.zkProxy.setFilter(nil)
		}
		b.proxy.setFilter(func(clientID string) bool {
			src := sourceBroker(clientID)
			switch {
			case src == to:
				return true
			case peerCut[to]:
				return false
			case src >= 0 && peerCut[src]:
				return false
			case src >= 0 && links[[2]int32{src, to}]:
				return false
			case src >= 0 && fetches[[2]int32{src, to}] && isFetcher(clientID):
				return false
			}
			return true
		})
	}
}
