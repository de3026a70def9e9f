package mockserver

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/labstack/echo/v4"
)

// The QA dashboard: a page and its script and style sheet, served from the binary at
// /__admin/ui/ with no token (the page asks for it; everything it shows comes from the admin
// API, which needs it). Files are served as they are: no build step, no CDN.

//go:embed ui
var dashboardFiles embed.FS

// dashboardPath is where the page is.
const dashboardPath = adminPrefix + "/ui/"

// dashboardPolicy confines the page to itself: its own scripts, styles and API only, never
// framed. Nothing in the page runs inline.
const dashboardPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// dashboardRedirect sends /__admin and /__admin/ to the page.
func (s *Server) dashboardRedirect(c echo.Context) error {
	exchangeOf(c).Code = "302"
	return c.Redirect(http.StatusFound, dashboardPath)
}

func (s *Server) dashboardIndex(c echo.Context) error { return s.dashboardFile(c, "index.html") }

func (s *Server) dashboardAsset(c echo.Context) error { return s.dashboardFile(c, c.Param("asset")) }

// dashboardFile serves one file of the dashboard; openapi.yaml's pattern has kept the name
// to one plain path segment.
func (s *Server) dashboardFile(c echo.Context, name string) error {
	data, err := fs.ReadFile(dashboardFiles, path.Join("ui", name))
	if err != nil {
		return sendAdminError(c, http.StatusNotFound, "the dashboard has no file "+name, "open "+dashboardPath)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", dashboardPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	contentType := mime.TypeByExtension(path.Ext(name))
	if contentType == "" {
		contentType = echo.MIMEOctetStream
	}
	exchangeOf(c).Code = "200"
	return c.Blob(http.StatusOK, contentType, data)
}
