package mockserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The live journal (Server-Sent Events) and the dashboard's other reads.

// Bounds of the live journal streams.
const (
	// DefaultDashboardViewers is how many live journal streams may be open at once unless
	// Config.DashboardViewers says otherwise.
	DefaultDashboardViewers = 16
	eventsEvery             = 250 * time.Millisecond // batches come at most this often
	eventsBatch             = 100                    // entries a batch at most; the rest are counted as skipped
	eventsPing              = 15 * time.Second       // a comment keeps proxies from closing a quiet stream
	eventsWriteTimeout      = 5 * time.Second        // a viewer that reads nothing for this long is dropped
)

// eventsBatchBody is the data of an "entries" event.
type eventsBatchBody struct {
	Entries []Entry `json:"entries"`
	Skipped int     `json:"skipped"`
}

// adminEvents streams the journal's new entries. A viewer that asks for entries after a number
// the journal has not reached (it saw a mock that has restarted since) gets a "reset" event
// first. The stream looks at the journal every
// eventsEvery, so a request pays nothing for it; a viewer that stops reading is dropped when
// a write has waited eventsWriteTimeout.
func (s *Server) adminEvents(c echo.Context) error {
	f, err := journalFilter(c)
	if err != nil {
		return sendAdminError(c, http.StatusBadRequest, err.Error(), "")
	}
	after := c.QueryParam("after")
	if after == "" {
		after = c.Request().Header.Get("Last-Event-ID")
	}
	var last uint64
	if after != "" {
		if last, err = strconv.ParseUint(after, 10, 64); err != nil {
			return sendAdminError(c, http.StatusBadRequest, "after must be a journal entry id (a whole number), not "+strconv.Quote(clipTo(after, 32)), "")
		}
	}
	select {
	case s.viewers <- struct{}{}:
		defer func() { <-s.viewers }()
	default:
		return sendAdminError(c, http.StatusServiceUnavailable,
			fmt.Sprintf("%d live journal streams are open already, the most this mock serves", cap(s.viewers)),
			"close a dashboard tab, or start the mock with a higher --dashboard-viewers")
	}
	exchangeOf(c).Code = "200"
	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	rc := http.NewResponseController(w)
	write := func(data []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout))
		if _, err := w.Write(data); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.WriteHeader(http.StatusOK)
	if err := write([]byte("retry: 2000\n\n")); err != nil {
		return nil
	}
	if newest, ok := s.journal.newestID(); ok && last > newest {
		// The viewer saw entries of a mock that has restarted since: what it shows is gone.
		// It reads the journal again; the stream goes on from now.
		if err := write([]byte("event: reset\ndata: {\"reason\": \"the mock restarted: its journal starts again\"}\n\n")); err != nil {
			return nil
		}
		last = newest
	}
	tick := time.NewTicker(eventsEvery)
	defer tick.Stop()
	ctx := c.Request().Context()
	quiet := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-tick.C:
		}
		entries, skipped, newest, err := s.journal.after(ctx, last, f, eventsBatch)
		var msg []byte
		switch {
		case err != nil:
			msg = fmt.Appendf(nil, "event: unavailable\ndata: %s\n\n", jsonString(err.Error()))
		case len(entries) > 0 || skipped > 0:
			data, err := json.Marshal(eventsBatchBody{Entries: entries, Skipped: skipped})
			if err != nil {
				return nil
			}
			msg = fmt.Appendf(nil, "event: entries\nid: %d\ndata: %s\n\n", newest, data)
		case time.Since(quiet) >= eventsPing:
			msg = []byte(": ping\n\n")
		}
		last = newest
		if msg == nil {
			continue
		}
		if err := write(msg); err != nil {
			return nil // the viewer left or stopped reading: dropped
		}
		quiet = time.Now()
	}
}

// jsonString is s as a JSON string.
func jsonString(s string) []byte {
	data, _ := json.Marshal(s)
	return data
}

// adminGetRequest answers one journal entry with its headers and bodies.
func (s *Server) adminGetRequest(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return sendAdminError(c, http.StatusBadRequest, "the id must be a journal entry id (a whole number)", "")
	}
	e, found, err := s.journal.byID(c.Request().Context(), id)
	switch {
	case err != nil:
		return storeFailed(err)
	case !found:
		return sendAdminError(c, http.StatusNotFound, fmt.Sprintf("the journal has no entry %d", id),
			"the journal keeps the latest --journal-size entries; GET /__admin/requests lists them")
	}
	return c.JSON(http.StatusOK, e)
}

// adminSessions lists the sessions started through Generate URL, newest first, each with its
// callback and webhook attempts from the journal.
func (s *Server) adminSessions(c echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	started, err := s.cfg.Engine.Sessions(c.Request().Context(), c.QueryParam("userId"), limit)
	if err != nil {
		return err
	}
	deliveries := map[string][]Entry{}
	if len(started) > 0 {
		entries, err := s.journal.query(c.Request().Context(), filter{}, 0) // one read of a shared journal
		if err != nil {
			return storeFailed(err)
		}
		for _, e := range entries {
			if e.Kind == kindCallback || e.Kind == kindWebhook {
				deliveries[e.SignatureID] = append(deliveries[e.SignatureID], e)
			}
		}
	}
	out := make([]map[string]any, 0, len(started))
	for _, st := range started {
		v := sessionView(st)
		v["bizId"], v["region"], v["seq"] = st.Start.BizID, st.Start.Region, st.Seq
		d := deliveries[st.Session.SignatureID] // newest first, as the journal answers
		if d == nil {
			d = []Entry{}
		}
		v["deliveries"] = d
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": out})
}

// adminDeactivate makes a declared user's profile INACTIVE, as Update Status does.
func (s *Server) adminDeactivate(c echo.Context) error {
	return s.sendProgress(c)(s.cfg.Engine.Deactivate(c.Request().Context(), c.Param("userId")))
}

// errCrossOrigin is why a browser's write from another origin is refused.
var errCrossOrigin = errors.New("a browser sent this admin call from another origin")

// crossOrigin refuses a browser's admin write sent from a page of another origin (a forged
// form or script), and says whether it did: the admin token alone would not stop a forged
// form on a mock that needs none. Scripts and curl send neither Origin nor Sec-Fetch-Site and
// pass.
func (s *Server) crossOrigin(c echo.Context) (refused bool, err error) {
	if s.csrf.Check(c.Request()) == nil {
		return false, nil
	}
	return true, sendAdminError(c, http.StatusForbidden, errCrossOrigin.Error()+"; nothing changed",
		"use the dashboard on the mock's own address ("+dashboardPath+"), or send the call from a script")
}

// foreignHost refuses, and says whether it did, a browser's call of the admin API that
// needs no token when the browser reached the mock by a name that is not this machine's: a
// page that points its own name at 127.0.0.1 (DNS rebinding) is same-origin with the mock
// for the browser, and would read the journal or drive the mock. The vendor's host names are
// taken too (pointed at the mock in /etc/hosts for HTTPS by hostname): no other site
// controls where they point.
func (s *Server) foreignHost(c echo.Context) (refused bool, err error) {
	req := c.Request()
	if s.cfg.AdminToken != "" || s.cfg.AdminAnyHost || (req.Header.Get("Origin") == "" && req.Header.Get("Sec-Fetch-Site") == "") {
		return false, nil
	}
	if localName(req.Host) || slices.Contains(s.regions.Hosts(), hostOnly(req.Host)) {
		return false, nil
	}
	return true, sendAdminError(c, http.StatusForbidden,
		fmt.Sprintf("a browser reached the admin API by the name %q: with no admin token it answers browsers on localhost names and loopback addresses only", clipTo(req.Host, 64)),
		"open the dashboard at http://localhost:<port>/__admin/, or start the mock with --admin-token (or --admin-token off to open it by any name)")
}

// localName reports whether host (with or without a port) names this machine: localhost,
// a name under .localhost, or a loopback address.
func localName(host string) bool {
	host = hostOnly(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// hostOnly is a Host header's name or address, without port, brackets or final dot, in lower
// case.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}
