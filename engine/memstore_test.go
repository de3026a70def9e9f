package engine_test

import (
	"testing"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/engine/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, l engine.Limits) engine.Store { return engine.NewMemoryStore(l) })
}
