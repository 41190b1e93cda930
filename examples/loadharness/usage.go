package main

import (
	"runtime"
	"time"
)

// usage is the whole process's CPU time and allocations: clients, proxy
// and fake upstream together.
type usage struct {
	// cpu is user plus system CPU time; cpuUnknown is true where the
	// platform does not report it.
	cpu        time.Duration
	cpuUnknown bool
	// mallocs and bytes are runtime.MemStats Mallocs and TotalAlloc.
	mallocs, bytes uint64
}

// measure runs f after a garbage collection, so that no run pays for
// another's garbage, and returns what f's run used. The snapshots' own
// cost (ReadMemStats stops the world) is left outside the interval.
func measure(f func()) usage {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	cpu0, ok0 := processCPU()
	f()
	cpu1, ok1 := processCPU()
	mallocs0, bytes0 := m.Mallocs, m.TotalAlloc
	runtime.ReadMemStats(&m)
	return usage{cpu: cpu1 - cpu0, cpuUnknown: !ok0 || !ok1, mallocs: m.Mallocs - mallocs0, bytes: m.TotalAlloc - bytes0}
}

func (u usage) add(o usage) usage {
	return usage{cpu: u.cpu + o.cpu, cpuUnknown: u.cpuUnknown || o.cpuUnknown, mallocs: u.mallocs + o.mallocs, bytes: u.bytes + o.bytes}
}
