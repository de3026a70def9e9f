package engine_test

import (
	"testing"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/engine/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, l engine.Limits) engine.Store { return engine.NewMemoryStore(l) })
}

// One memory store is shared by the goroutines of one process: it is the pair of itself.
func TestMemoryStoreShared(t *testing.T) {
	storetest.RunShared(t, func(_ *testing.T, l engine.Limits) (engine.Store, engine.Store) {
		s := engine.NewMemoryStore(l)
		return s, s
	})
}
