package scenarios

import "net/textproto"

// Masked returns m with the values of credential headers (X-ACCESS-TOKEN, Authorization,
// Cookie) hidden, for listings.
func (m MatchSpec) Masked() MatchSpec {
	if len(m.Headers) == 0 {
		return m
	}
	headers := make(map[string]string, len(m.Headers))
	for name, value := range m.Headers {
		if SecretHeader(name) {
			value = "****"
		}
		headers[name] = value
	}
	m.Headers = headers
	return m
}

// SecretHeader reports whether a header carries a credential, whose value never goes into a
// near-miss report.
func SecretHeader(name string) bool {
	switch textproto.CanonicalMIMEHeaderKey(name) {
	case "X-Access-Token", "Authorization", "Cookie":
		return true
	}
	return false
}
