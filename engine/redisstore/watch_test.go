package redisstore

import (
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/internal/redistest"
)

// silentProxy forwards TCP connections to a Redis; cut makes the connections open so far
// swallow everything, neither answering nor closing (a peer gone without a reset: a node
// lost, a NAT that forgot the connection). Connections opened after forward again.
type silentProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	dead []*atomic.Bool
}

func newSilentProxy(t *testing.T, to string) *silentProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			dead := new(atomic.Bool)
			p.mu.Lock()
			p.dead = append(p.dead, dead)
			p.mu.Unlock()
			t.Cleanup(func() { c.Close(); r.Close() })
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 && !dead.Load() {
						dst.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}
			go pipe(r, c)
			go pipe(c, r)
		}
	}()
	return p
}

func (p *silentProxy) url() string { return fmt.Sprintf("redis://%s/0", p.ln.Addr()) }

func (p *silentProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.dead {
		d.Store(true)
	}
}

// A subscription whose connection goes silent (no reset) is found out and made again: the
// watcher asks for a full read and sees the changes after, instead of waiting forever.
func TestWatchNoticesASilentConnection(t *testing.T) {
	srv := redistest.Start(t)
	proxy := newSilentProxy(t, srv.Addr())
	a := open(t, proxy.url(), engine.Limits{}, Options{})
	a.watchPing = 200 * time.Millisecond
	b := open(t, srv.URL(), engine.Limits{}, Options{Prefix: a.prefix})
	changes := make(chan engine.DeclarationChange, 16)
	go a.Watch(t.Context(), func(c engine.DeclarationChange) { changes <- c })
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no subscription")
	}
	proxy.cut()
	if _, err := b.PutDeclaration(t.Context(), "carol", json.RawMessage(`{"scenario":"active"}`), 22); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if c.UserID != "" && c.UserID != "carol" {
			t.Errorf("reported %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher never noticed that its connection went silent: changes are missed for good")
	}
}
