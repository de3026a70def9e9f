package contract

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// A case's match: maps a JSON pointer to a kind of value, for what equality cannot say (a
// URL the target makes up, a signatureId it assigns). The kinds:
const (
	MatchPresent  = "present"  // the field is there and not null
	MatchAbsent   = "absent"   // the field is not there, or null
	MatchURL      = "url"      // an absolute http or https URL
	MatchBase64   = "base64"   // standard base64 (padded, no line breaks) of at least one byte
	MatchContains = "contains" // "contains TEXT": a string holding TEXT
)

// matchKinds lists the kinds, for messages.
var matchKinds = []string{MatchPresent, MatchAbsent, MatchURL, MatchBase64, MatchContains + " TEXT"}

// parseMatch reads a match value: a kind, and the text of contains.
func parseMatch(s string) (kind, arg string, err error) {
	kind, arg, _ = strings.Cut(s, " ")
	switch kind {
	case MatchPresent, MatchAbsent, MatchURL, MatchBase64:
		if arg != "" {
			return "", "", fmt.Errorf("%q: %s takes nothing after it", s, kind)
		}
	case MatchContains:
		if arg == "" {
			return "", "", fmt.Errorf("%q: say what the string must contain, e.g. contains ACTIVE", s)
		}
	default:
		return "", "", fmt.Errorf("%q is not one of %s", s, strings.Join(matchKinds, ", "))
	}
	return kind, arg, nil
}

// matches reports whether v (ok: the field is there) is of the kind, and if not, what was
// expected in words.
func matches(kind, arg string, v any, ok bool) (bool, string) {
	s, isString := v.(string)
	switch kind {
	case MatchPresent:
		return ok && v != nil, "a value (not null)"
	case MatchAbsent:
		return !ok || v == nil, "no value (absent or null)"
	case MatchURL:
		return isString && isURL(s), "an absolute http or https URL"
	case MatchBase64:
		return isString && isBase64(s), "standard base64 of the bytes (not a URL)"
	case MatchContains:
		return isString && strings.Contains(s, arg), fmt.Sprintf("a string containing %q", arg)
	}
	return false, "a known kind of value"
}

// isURL reports whether s is an absolute http or https URL with a host.
func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isBase64 reports whether s is standard, padded base64 of at least one byte. A URL never is
// (':' is not in the alphabet).
func isBase64(s string) bool {
	if s == "" {
		return false
	}
	_, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && !strings.ContainsAny(s, "\r\n")
}
