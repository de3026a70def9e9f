package mockserver

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/idvmock/idvmock/engine"
)

// journalFilter reads the filters of the journal endpoints.
func journalFilter(c echo.Context) (filter, error) {
	f := filter{UserID: c.QueryParam("userId"), Region: c.QueryParam("region"), Code: c.QueryParam("code"),
		Kind: c.QueryParam("kind"), Fault: c.QueryParam("fault"), Operation: c.QueryParam("operation")}
	if since := c.QueryParam("since"); since != "" {
		if t, err := time.Parse(time.RFC3339, since); err == nil {
			f.Since = t
		} else if d, err := time.ParseDuration(since); err == nil {
			f.Since = time.Now().Add(-d)
		} else {
			return f, errors.New("since must be an RFC 3339 time (2026-11-25T10:00:00Z) or a duration back from now (5m)")
		}
	}
	return f, nil
}

func (s *Server) adminRequests(c echo.Context) error {
	f, err := journalFilter(c)
	if err != nil {
		return sendAdminError(c, http.StatusBadRequest, err.Error(), "")
	}
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	entries, err := s.journal.query(c.Request().Context(), f, limit)
	if err != nil {
		return storeFailed(err)
	}
	if entries == nil {
		entries = []Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"requests": entries})
}

func (s *Server) adminRequestCount(c echo.Context) error {
	f, err := journalFilter(c)
	if err != nil {
		return sendAdminError(c, http.StatusBadRequest, err.Error(), "")
	}
	n, err := s.journal.tally(c.Request().Context(), f)
	if err != nil {
		return storeFailed(err)
	}
	return c.JSON(http.StatusOK, map[string]int{"count": n})
}

// adminUnmatched lists the requests whose userId no user or rule knew, with what came
// closest.
func (s *Server) adminUnmatched(c echo.Context) error {
	entries, err := s.journal.query(c.Request().Context(), filter{Unmatched: true}, 0)
	if err != nil {
		return storeFailed(err)
	}
	if entries == nil {
		entries = []Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"requests": entries})
}

func (s *Server) adminClearRequests(c echo.Context) error {
	n, err := s.journal.empty(c.Request().Context())
	if err != nil {
		return storeFailed(err)
	}
	return c.JSON(http.StatusOK, map[string]int{"deleted": n})
}

// storeFailed marks an error of the shared journal as the state store's, which the mock
// answers with a 503 naming the store.
func storeFailed(err error) error { return fmt.Errorf("%w: the journal: %w", engine.ErrStore, err) }
