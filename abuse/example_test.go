package abuse_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/wicket-gw/wicket/abuse"
)

func ExampleNew() {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	d, err := abuse.New(&abuse.Options{
		OnSignal: func(s abuse.Signal) { fmt.Println(s.KeyID, s.Kind, s.Value, s.Baseline) },
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	// The key is used from 20 networks within a minute.
	for i := range 20 {
		d.Request("key_1", netip.AddrFrom4([4]byte{203, 0, byte(i), 1}))
		now = now.Add(3 * time.Second)
	}
	fmt.Println(d.Stats().Signals[abuse.NetworkSpread])
	// Output:
	// key_1 network_spread 17 16
	// 1
}
