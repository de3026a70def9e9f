//go:build !linux

package promtext

// NewProcessCollector exposes the process_* metrics where /proc/self tells them (Linux);
// elsewhere it exposes none.
func NewProcessCollector() Collector { return processCollector{} }

type processCollector struct{}

func (processCollector) Collect(func(Family)) {}
