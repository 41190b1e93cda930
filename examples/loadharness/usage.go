package main

import (
	"os"
	"runtime"
	"time"
)

// usage is the CPU time and allocations of the process the proxies run
// in, over one run: the whole harness (clients, proxies and fake
// upstream together), or with -split the proxies' child alone.
type usage struct {
	// cpu is user plus system CPU time; cpuUnknown is true where the
	// platform does not report it.
	cpu        time.Duration
	cpuUnknown bool
	// mallocs and bytes are runtime.MemStats Mallocs and TotalAlloc.
	mallocs, bytes uint64
	// reads and writes count read and write system calls (see
	// processIO); ioUnknown is true where the platform does not report
	// them.
	reads, writes uint64
	ioUnknown     bool
}

func (u usage) add(o usage) usage {
	return usage{cpu: u.cpu + o.cpu, cpuUnknown: u.cpuUnknown || o.cpuUnknown, mallocs: u.mallocs + o.mallocs, bytes: u.bytes + o.bytes,
		reads: u.reads + o.reads, writes: u.writes + o.writes, ioUnknown: u.ioUnknown || o.ioUnknown}
}

// reading is what a host reports at one end of a run: its process's
// figures so far, and the target's. It travels as JSON from the child
// with -split.
type reading struct {
	// CPU is the process's user plus system CPU time so far; CPUKnown is
	// false where the platform does not report it.
	CPU      time.Duration `json:"cpu_ns"`
	CPUKnown bool          `json:"cpu_known"`
	// Mallocs and TotalAlloc are the process's runtime.MemStats fields.
	Mallocs    uint64 `json:"mallocs"`
	TotalAlloc uint64 `json:"total_alloc"`
	// Reads and Writes count the process's read and write system calls
	// so far; IOKnown is false where the platform does not report them.
	Reads   uint64 `json:"reads"`
	Writes  uint64 `json:"writes"`
	IOKnown bool   `json:"io_known"`
	// Accepted counts the connections the target has accepted so far.
	Accepted int64 `json:"accepted"`
	// Settled, after a run, is whether the target settled in time.
	Settled bool `json:"settled"`
	// PID is the process that took the reading.
	PID int `json:"pid"`
}

// since is what the process used from b to r.
func (r reading) since(b reading) usage {
	return usage{cpu: r.CPU - b.CPU, cpuUnknown: !r.CPUKnown || !b.CPUKnown, mallocs: r.Mallocs - b.Mallocs, bytes: r.TotalAlloc - b.TotalAlloc,
		reads: r.Reads - b.Reads, writes: r.Writes - b.Writes, ioUnknown: !r.IOKnown || !b.IOKnown}
}

// readBefore collects garbage, then reads this process's figures. The
// snapshot's own cost (ReadMemStats stops the world) falls before the
// CPU reading, outside the run's interval.
func readBefore() reading {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	reads, writes, ioOK := processIO()
	cpu, ok := processCPU()
	return reading{CPU: cpu, CPUKnown: ok, Mallocs: m.Mallocs, TotalAlloc: m.TotalAlloc,
		Reads: reads, Writes: writes, IOKnown: ioOK, PID: os.Getpid()}
}

// readAfter reads this process's figures, the CPU first, so that
// ReadMemStats' cost falls after the run's interval.
func readAfter() reading {
	cpu, ok := processCPU()
	reads, writes, ioOK := processIO()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return reading{CPU: cpu, CPUKnown: ok, Mallocs: m.Mallocs, TotalAlloc: m.TotalAlloc,
		Reads: reads, Writes: writes, IOKnown: ioOK, PID: os.Getpid()}
}
