package mockserver

import (
	"net/http"
	"strings"
	"testing"
)

// The dashboard's files are served without the token, under a CSP; the admin API behind it
// still needs the token; /__admin redirects to the page.
func TestDashboardIsServed(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for _, path := range []string{"/__admin", "/__admin/"} {
		c := call{target: path}
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != dashboardPath {
			t.Errorf("%s: HTTP %d Location %q", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	for path, want := range map[string]int{
		"/__admin/ui/":                200,
		"/__admin/ui/app.js":          200,
		"/__admin/ui/app.css":         200,
		"/__admin/ui/README.md":       400,
		"/__admin/ui/nothing.js":      404,
		"/__admin/ui/..%2fserver.go":  400,
		"/__admin/ui/.hidden":         400,
		"/__admin/overview":           401,
		"/__admin/events":             401,
		"/__admin/requests/1":         401,
		"/__admin/sessions":           401,
		"/__admin/users/x/deactivate": 405,
	} {
		c := call{target: path}
		rec := serve(t, s, c)
		if rec.Code != want {
			t.Errorf("%s: HTTP %d, want %d: %.200s", path, rec.Code, want, rec.Body)
			continue
		}
		if want == 200 {
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s: CSP %q", path, csp)
			}
		} else if want != 405 {
			sc.check(t, c, rec)
		}
	}
}
