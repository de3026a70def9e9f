package redistest

import (
	"testing"
	"time"
)

// A server answers once started, not once stopped, and again on the same address once
// started again.
func TestStartStopStart(t *testing.T) {
	s := Start(t)
	addr := s.Addr()
	if !ping(addr) {
		t.Fatal("the started server does not answer PING")
	}
	s.Stop()
	if ping(addr) {
		t.Fatal("the stopped server still answers PING")
	}
	s.Stop() // twice is once
	began := time.Now()
	s.Start()
	if !ping(addr) || s.Addr() != addr {
		t.Fatalf("the restarted server does not answer on %s", addr)
	}
	t.Logf("restarted in %v", time.Since(began))
	s.Pause()
	if ping(addr) {
		t.Fatal("the paused server answers PING")
	}
	s.Resume()
	if !ping(addr) {
		t.Fatal("the resumed server does not answer PING")
	}
	if got, want := s.URL(), "redis://"+addr+"/0"; got != want {
		t.Errorf("URL %q, want %q", got, want)
	}
}
