package redisstore

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/redistest"
)

// A change of the admin layer through one store reaches a process watching through another
// within 100 ms, naming the user; once Redis is back after a restart, the watcher asks for a
// full read (changes made meanwhile were missed).
func TestWatchSeesOtherProcessesChanges(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv.URL(), engine.Limits{}, Options{})
	b := open(t, srv.URL(), engine.Limits{}, Options{Prefix: a.prefix})
	changes := make(chan engine.DeclarationChange, 16)
	go a.Watch(t.Context(), func(c engine.DeclarationChange) { changes <- c })
	next := func(what string) engine.DeclarationChange {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(5 * time.Second):
			t.Fatalf("no change reported: %s", what)
			return engine.DeclarationChange{}
		}
	}
	if c := next("the subscription"); c.UserID != "" {
		t.Errorf("the first report: %+v, want a full read", c)
	}
	start := time.Now()
	v, err := b.PutDeclaration(t.Context(), "carol", json.RawMessage(`{"scenario":"active"}`), 22)
	if err != nil {
		t.Fatal(err)
	}
	if c := next("a put through b"); c.UserID != "carol" || c.Version != v {
		t.Errorf("reported %+v, want carol at version %d", c, v)
	} else if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("reported after %v", d)
	}
	srv.Stop()
	srv.Start()
	if c := next("the subscription again, after a restart"); c.UserID != "" {
		t.Errorf("after a restart: %+v, want a full read", c)
	}
}

// The journal is a stream capped at its size: entries of several processes, newest first,
// ordered by id; Clear says how many it forgot.
func TestJournalIsCappedAndShared(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv.URL(), engine.Limits{}, Options{})
	b := open(t, srv.URL(), engine.Limits{}, Options{Prefix: a.prefix})
	ja, jb := a.Journal(5), b.Journal(5)
	for i := range 4 {
		j := []*Journal{ja, jb}[i%2]
		if err := j.Append(t.Context(), [][]byte{[]byte(fmt.Sprint(2 * i)), []byte(fmt.Sprint(2*i + 1))}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := jb.Recent(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, r := range recs {
		got = append(got, string(r.Data))
		if i > 0 && r.ID >= recs[i-1].ID {
			t.Errorf("ids not newest first: %d after %d", r.ID, recs[i-1].ID)
		}
	}
	if fmt.Sprint(got) != "[7 6 5 4 3]" {
		t.Errorf("entries %v, want the 5 newest of 8", got)
	}
	if n, err := ja.Clear(t.Context()); err != nil || n != 5 {
		t.Errorf("Clear: %d %v", n, err)
	}
	if recs, _ := jb.Recent(t.Context()); len(recs) != 0 {
		t.Errorf("%d entries after a Clear", len(recs))
	}
}

// After reads only the entries newer than an id, the newest first, and says when it left
// some out; Get reads one entry by its id.
func TestJournalAfterAndGet(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL(), engine.Limits{}, Options{})
	j := s.Journal(100)
	for i := range 10 {
		if err := j.Append(t.Context(), [][]byte{[]byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := j.Recent(t.Context())
	if err != nil || len(all) != 10 {
		t.Fatalf("Recent: %d %v", len(all), err)
	}
	data := func(recs []Record) string {
		var out []string
		for _, r := range recs {
			out = append(out, string(r.Data))
		}
		return fmt.Sprint(out)
	}
	after6 := all[4].ID // "5": entries 6..9 are after it
	if recs, more, err := j.After(t.Context(), after6, 10); err != nil || more || data(recs) != "[9 8 7 6]" {
		t.Errorf("After(5, 10): %s more=%v %v", data(recs), more, err)
	}
	if recs, more, err := j.After(t.Context(), after6, 2); err != nil || !more || data(recs) != "[9 8]" {
		t.Errorf("After(5, 2): %s more=%v %v", data(recs), more, err)
	}
	if recs, more, _ := j.After(t.Context(), all[0].ID, 5); len(recs) != 0 || more {
		t.Errorf("after the newest: %s more=%v", data(recs), more)
	}
	if r, found, err := j.Get(t.Context(), all[2].ID); err != nil || !found || string(r.Data) != "7" || r.ID != all[2].ID {
		t.Errorf("Get: %q %v %v", r.Data, found, err)
	}
	if _, found, err := j.Get(t.Context(), all[0].ID+1); err != nil || found {
		t.Errorf("Get of an id no entry has: found=%v %v", found, err)
	}
}
