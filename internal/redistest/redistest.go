// Package redistest runs a real redis-server for tests: on a free port of 127.0.0.1, in a
// temporary folder, without persistence (--save "" --appendonly no), stopped when the test
// ends. Server.Stop and Server.Start take it down and bring it back on the same port, and
// Server.Pause and Server.Resume make it hang and answer again, for tests of what a client
// does while its Redis is gone.
//
// When redis-server is not installed the test is skipped, or fails when the environment
// variable CI is set (CI must run every test).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Missing is the message for a machine without redis-server.
const Missing = "redis-server not found: install Debian's redis-server (apt-get install redis-server); .ci/run does this"

// startWithin bounds how long a server may take to answer PING after it starts.
const startWithin = 10 * time.Second

// Server is a redis-server the test started.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

// Start starts a redis-server for t and stops it when t ends. It skips t when redis-server
// is not installed (fails it when CI is set).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(Missing)
		}
		t.Skip(Missing)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// URL is the server's address as redisstore.Open takes it: redis://127.0.0.1:PORT/0.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr()) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Start starts the server (again, after Stop) on its port and waits until it answers PING.
// It does nothing when the server runs.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	log, err := os.OpenFile(s.dir+"/redis.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--protected-mode", "yes")
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		s.t.Fatalf("starting %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.log = cmd, done, log
	deadline := time.Now().Add(startWithin)
	for !ping(s.Addr()) {
		select {
		case <-done:
			out, _ := os.ReadFile(s.dir + "/redis.log")
			s.cmd = nil
			s.t.Fatalf("redis-server on port %d exited at start:\n%s", s.port, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on port %d did not answer PING within %v", s.port, startWithin)
		}
	}
}

// Stop kills the server (as a crash would: nothing is saved) and waits until it has exited.
// It does nothing when the server is stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.log.Close()
	s.cmd = nil
}

// Pause stops the server's process (SIGSTOP): it keeps its port and accepts connections, but
// answers nothing until Resume, as a Redis that hangs.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatal("the server is stopped")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// ping reports whether a Redis at addr answers PING.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// freePort is a TCP port of 127.0.0.1 that nothing listened on a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
