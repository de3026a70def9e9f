package mockserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace is how long requests in flight may take to finish after a shutdown starts.
const ShutdownGrace = 10 * time.Second

// Serve answers connections from ln (and the more listeners: plain HTTP and HTTPS side by
// side) until ctx is cancelled, then stops accepting and lets requests in flight finish within
// ShutdownGrace. net/http's own answers to requests that are not valid HTTP are turned into
// the vendor's envelope (WrapListener). A TLS listener is given as tls.NewListener's.
func (s *Server) Serve(ctx context.Context, ln net.Listener, more ...net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		IdleTimeout:       s.timeouts.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// OPTIONS * reaches the handler, which answers it with the envelope like any other
		// request it has no route for, instead of net/http's empty 200.
		DisableGeneralOptionsHandler: true,
	}
	listeners := append([]net.Listener{ln}, more...)
	done := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { done <- hs.Serve(WrapListener(l)) }()
	}
	select {
	case err := <-done:
		hs.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("idvmock shutting down", slog.Duration("grace", ShutdownGrace))
	s.stopOnce.Do(func() { close(s.stop) }) // hanging faults let go; callbacks stop retrying
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	s.Close()
	if err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: requests still running after %v: %w", ShutdownGrace, err)
	}
	for range listeners {
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
