package mockserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// journalFilter reads the filters of the journal endpoints.
func journalFilter(c echo.Context) (filter, error) {
	f := filter{UserID: c.QueryParam("userId"), Region: c.QueryParam("region"), Code: c.QueryParam("code"),
		Kind: c.QueryParam("kind"), Fault: c.QueryParam("fault")}
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
	entries := s.journal.find(f, limit)
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
	return c.JSON(http.StatusOK, map[string]int{"count": s.journal.count(f)})
}

// adminUnmatched lists the requests whose userId no user or rule knew, with what came
// closest.
func (s *Server) adminUnmatched(c echo.Context) error {
	entries := s.journal.find(filter{Unmatched: true}, 0)
	if entries == nil {
		entries = []Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"requests": entries})
}

func (s *Server) adminClearRequests(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]int{"deleted": s.journal.clear()})
}
