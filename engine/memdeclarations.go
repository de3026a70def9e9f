package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// memoryDeclarations is the admin layer of the memory store. It has a lock of its own: the
// layer changes apart from the progress.
type memoryDeclarations struct {
	mu sync.Mutex
	d  Declarations
}

func newMemoryDeclarations() *memoryDeclarations {
	return &memoryDeclarations{d: Declarations{Users: map[string]json.RawMessage{}, Sizes: map[string]int{}, Removed: map[string]bool{}}}
}

// Declarations returns a copy of the admin layer.
func (s *MemoryStore) Declarations(context.Context) (Declarations, error) {
	m := s.declarations
	m.mu.Lock()
	defer m.mu.Unlock()
	return Declarations{Version: m.d.Version, Users: maps.Clone(m.d.Users), Sizes: maps.Clone(m.d.Sizes), Removed: maps.Clone(m.d.Removed)}, nil
}

// PutDeclaration keeps userID's declaration within the limits.
func (s *MemoryStore) PutDeclaration(_ context.Context, userID string, spec json.RawMessage, size int) (uint64, error) {
	limits := s.currentLimits()
	m := s.declarations
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := adminRoom(m.d, limits, userID, size); err != nil {
		return m.d.Version, err
	}
	m.d.Users[userID], m.d.Sizes[userID] = slices.Clone(spec), size
	delete(m.d.Removed, userID)
	return m.bump(), nil
}

// DeleteDeclaration forgets userID's declaration, and hides the user when hide.
func (s *MemoryStore) DeleteDeclaration(_ context.Context, userID string, hide bool) (uint64, error) {
	m := s.declarations
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.d.Users, userID)
	delete(m.d.Sizes, userID)
	if hide {
		m.d.Removed[userID] = true
	}
	return m.bump(), nil
}

// ReplaceDeclarations replaces the layer.
func (s *MemoryStore) ReplaceDeclarations(_ context.Context, d Declarations) (uint64, error) {
	m := s.declarations
	m.mu.Lock()
	defer m.mu.Unlock()
	fresh := newMemoryDeclarations().d
	maps.Copy(fresh.Users, d.Users)
	maps.Copy(fresh.Sizes, d.Sizes)
	maps.Copy(fresh.Removed, d.Removed)
	fresh.Version = m.d.Version
	m.d = fresh
	return m.bump(), nil
}

// bump moves the version on; called with mu held.
func (m *memoryDeclarations) bump() uint64 {
	m.d.Version++
	return m.d.Version
}

// Watch returns when ctx ends: the memory store is one process's, whose engine knows every
// change it makes.
func (s *MemoryStore) Watch(ctx context.Context, _ func(DeclarationChange)) { <-ctx.Done() }

// adminRoom reports whether userID's declaration of size bytes fits the limits, in place of
// the one it has.
func adminRoom(d Declarations, l Limits, userID string, size int) error {
	_, replacing := d.Users[userID]
	total := size - d.Sizes[userID]
	for _, n := range d.Sizes {
		total += n
	}
	switch {
	case !replacing && len(d.Users) >= l.MaxAdminUsers:
		return fmt.Errorf("%w: %d users (--max-admin-users); delete some (DELETE /__admin/users/{userId}) or raise the limit", ErrAdminFull, l.MaxAdminUsers)
	case total > l.MaxAdminBytes:
		return fmt.Errorf("%w: %d bytes of declarations (--max-admin-bytes); delete some or raise the limit", ErrAdminFull, l.MaxAdminBytes)
	}
	return nil
}
