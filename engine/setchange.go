package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/idvmock/idvmock/scenarios"
)

// shallow returns a copy of s whose maps of users and signatures can be changed without
// touching s; everything else is shared (it is never changed once compiled).
func (s *Set) shallow() *Set {
	c := *s
	c.users = maps.Clone(s.users)
	c.signatures = maps.Clone(s.signatures)
	c.files = slices.Clone(s.files)
	return &c
}

// dropUser removes user id from s, and its signatureIds. Only for a set no one else holds.
func (s *Set) dropUser(id string) {
	if _, ok := s.users[id]; !ok {
		return
	}
	delete(s.users, id)
	maps.DeleteFunc(s.signatures, func(_ string, ref sessionRef) bool { return ref.userID == id })
	s.reindex()
}

// withoutUser returns a copy of s without user id.
func (s *Set) withoutUser(id string) *Set {
	c := s.shallow()
	c.dropUser(id)
	return c
}

// withUser returns a copy of s where f's user id, declared by spec, replaces any user of that
// id. Only this user is compiled and its results checked, as New would.
func (s *Set) withUser(f *scenarios.File, id string, spec scenarios.UserSpec) (*Set, scenarios.Problems) {
	c := s.shallow()
	c.dropUser(id)
	u, err := c.compileUser(f, id, spec)
	if err != nil {
		pos := f.Positions().At("users." + id + ".scenario")
		return nil, scenarios.Problems{{File: f.Name(), Line: pos.Line, Column: pos.Column, Path: "users." + id + ".scenario", What: err.Error(),
			Hint: "declare it under scenarios: or use one of " + strings.Join(c.ScenarioNames(), ", ")}}
	}
	c.users[id] = u
	c.reindex()
	if !slices.Contains(c.files, f.Name()) {
		c.files = append(c.files, f.Name())
	}
	if problems := c.checkUser(f, u); len(problems) > 0 {
		return nil, problems
	}
	return c, nil
}
