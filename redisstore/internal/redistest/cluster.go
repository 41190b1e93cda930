package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// clusterTimeout bounds the wait for a new cluster to report itself ok.
const clusterTimeout = 20 * time.Second

// Cluster is a running Redis Cluster of redis-server processes on loopback
// ports, every node a master (no replicas). Use [StartCluster]; Close stops
// it.
type Cluster struct {
	// Nodes are the cluster's servers, in the order of their slot ranges:
	// node i serves the i-th of equal ranges of the 16384 slots.
	Nodes []*Server

	busPorts []int // each node's cluster bus port
}

// StartCluster starts n redis-servers in cluster mode, gives each an equal
// range of the hash slots, joins them and waits until every node reports
// cluster_state:ok. It needs redis-server only (the cluster is formed with
// CLUSTER ADDSLOTSRANGE and CLUSTER MEET, so redis-cli is not used). It
// takes a little over two seconds, most of it the two seconds a master
// waits after its start before it declares the cluster ok.
func StartCluster(n int) (*Cluster, error) {
	if n < 1 || n > clusterSlots {
		return nil, fmt.Errorf("redistest: a cluster of %d nodes", n)
	}
	c := new(Cluster)
	for range n {
		s, bus, err := startClusterNode()
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
		c.busPorts = append(c.busPorts, bus)
	}
	if err := c.form(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// startClusterNode starts one redis-server in cluster mode. Its cluster bus
// port is chosen free, as its client port is, rather than left at the
// default (the client port plus 10000), which may be taken or, for a client
// port above 55535, beyond the last port.
func startClusterNode() (*Server, int, error) {
	var last error
	for range 5 { // the bus port found free may be taken before the server binds it
		bus, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		s, err := StartWith(
			"--cluster-enabled", "yes",
			// Relative to --dir, the server's own directory.
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
			"--cluster-port", strconv.Itoa(bus),
		)
		if err == nil {
			return s, bus, nil
		}
		last = err
	}
	return nil, 0, last
}

// form assigns the slots, joins the nodes and waits for the cluster to be ok.
func (c *Cluster) form() error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	clients := make([]*redis.Client, len(c.Nodes))
	for i, s := range c.Nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: s.Addr})
		defer clients[i].Close()
	}
	n := len(c.Nodes)
	for i, cl := range clients {
		lo, hi := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if err := cl.Do(ctx, "cluster", "addslotsrange", lo, hi).Err(); err != nil {
			return fmt.Errorf("redistest: CLUSTER ADDSLOTSRANGE on %s: %w", c.Nodes[i].Addr, err)
		}
		// Distinct epochs spare the nodes resolving a collision of theirs.
		if err := cl.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			return fmt.Errorf("redistest: CLUSTER SET-CONFIG-EPOCH on %s: %w", c.Nodes[i].Addr, err)
		}
	}
	for i, s := range c.Nodes[1:] {
		host, port, _ := net.SplitHostPort(s.Addr)
		if err := clients[0].Do(ctx, "cluster", "meet", host, port, c.busPorts[i+1]).Err(); err != nil {
			return fmt.Errorf("redistest: CLUSTER MEET %s: %w", s.Addr, err)
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i, cl := range clients {
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r\n") {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("redistest: cluster node %s not ok within %v (%v); CLUSTER INFO:\n%s", c.Nodes[i].Addr, clusterTimeout, err, info)
			case <-tick.C:
			}
		}
	}
	return nil
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return addrs
}

// Client returns a cluster client of the cluster, closed when tb ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { cc.Close() })
	return cc
}

// Close stops every node and removes their directories.
func (c *Cluster) Close() error {
	var errs []error
	for _, s := range c.Nodes {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
