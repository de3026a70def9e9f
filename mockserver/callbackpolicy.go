package mockserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Defaults of the callback bounds.
const (
	DefaultCallbackWorkers    = 4
	DefaultCallbackMaxPending = 1000
)

// CallbackPolicy says how a completed session is reported to its callbackUrl: the vendor
// POSTs {"signatureId", "type"} and retries until the receiver answers HTTP 200. Redirects
// are never followed: a 3xx is a failed attempt. Every attempt is a journal entry (kind
// callback).
type CallbackPolicy struct {
	Attempts int           // tries in all; default 5
	Backoff  time.Duration // wait before the second try, doubled after each; default 1s
	Timeout  time.Duration // per try; default 5s

	// Workers is how many callbacks are sent at once; default 4. A delivery waiting for its
	// next try holds no worker.
	Workers int
	// MaxPending bounds the deliveries pending at once: queued, being sent or waiting for a
	// retry; default 1000. A completion that finds the bound reached is not called back: the
	// journal shows the delivery dropped, and why.
	MaxPending int
	// Allow is where callbacks and webhooks may go (see ParseCallbackAllow); empty: anywhere, for a mock on
	// a developer's machine. It is checked on the address each connection is made to, so a
	// name that resolves to an address outside the list is refused too (DNS rebinding
	// included). A refused target is journaled and not retried. With Allow set, no HTTP
	// proxy is used, since the check must see the receiver's own address.
	Allow CallbackAllow

	// Client sends the callbacks and webhooks; default: a client without a timeout of its
	// own (each attempt has its schedule's: Timeout for callbacks). Its redirects are never
	// followed. With Allow set, its Transport must be nil or an *http.Transport, whose dialer
	// is replaced by the one that checks Allow; with any other Transport every callback is
	// refused, since Allow could not be enforced.
	Client *http.Client
}

func (p *CallbackPolicy) setDefaults() {
	if p.Attempts <= 0 {
		p.Attempts = 5
	}
	if p.Backoff <= 0 {
		p.Backoff = time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	if p.Workers <= 0 {
		p.Workers = DefaultCallbackWorkers
	}
	if p.MaxPending <= 0 {
		p.MaxPending = DefaultCallbackMaxPending
	}
}

// The settings the journal's messages name, where an operator changes them.
const (
	settingAllow      = "--callback-allow"
	settingMaxPending = "--callback-max-pending"
)

// client is the policy's HTTP client as callbacks use it: no redirects followed, and Allow
// enforced by the dialer. refuse is set when Allow cannot be enforced.
func (p *CallbackPolicy) client() (c *http.Client, refuse error) {
	c = &http.Client{}
	if p.Client != nil {
		copied := *p.Client
		c = &copied
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if p.Allow.Empty() {
		return c, nil
	}
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return c, fmt.Errorf("refused: %s is set but the callback client's Transport is a %T, whose connections it cannot check; not retried", settingAllow, t)
	}
	tr.Proxy = nil // the allow-list must see the receiver's address, not a proxy's
	tr.DialContext = p.Allow.dialAllowed
	tr.DialTLSContext = nil
	c.Transport = tr
	return c, nil
}

// CallbackAllow is a parsed list of the hosts and networks callbacks may go to. The zero
// value is the empty list: every target is allowed.
type CallbackAllow struct {
	names    []string // exact host names, lower case
	suffixes []string // ".example.com" for *.example.com
	networks []netip.Prefix
	text     string
}

// ParseCallbackAllow parses a comma-separated allow-list of callback targets: host names
// (app.internal), wildcards of subdomains (*.example.com, which does not match example.com
// itself), networks (10.0.0.0/8, fd00::/8) and addresses (127.0.0.1, ::1). A callbackUrl is
// allowed when its host is a listed name, or when the address connected to is in a listed
// network. An empty s is the empty list: everything allowed.
func ParseCallbackAllow(s string) (CallbackAllow, error) {
	var a CallbackAllow
	var kept []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if err := a.add(item); err != nil {
			return CallbackAllow{}, err
		}
		kept = append(kept, item)
	}
	a.text = strings.Join(kept, ",")
	return a, nil
}

func (a *CallbackAllow) add(item string) error {
	const examples = "list host names (app.internal), wildcards (*.example.com), networks (10.0.0.0/8) or addresses (127.0.0.1), comma-separated"
	switch {
	case strings.Contains(item, "/") && !strings.Contains(item, "://"):
		p, err := netip.ParsePrefix(item)
		if err != nil {
			why := err.Error() // netip.ParsePrefix("..."): ParseAddr("..."): the reason
			if i := strings.LastIndex(why, "): "); i >= 0 {
				why = why[i+3:]
			}
			return fmt.Errorf("%q is not a network (%s): write one as an address, a slash and the prefix length, such as 10.0.0.0/8 or fd00::/8", item, why)
		}
		a.networks = append(a.networks, p.Masked())
		return nil
	case strings.Contains(item, "://"):
		return fmt.Errorf("%q is a URL: give its host alone (app.internal); %s", item, examples)
	case strings.HasPrefix(item, "["):
		return fmt.Errorf("%q: write an IPv6 address without brackets or port (::1)", item)
	}
	if ip, err := netip.ParseAddr(item); err == nil {
		ip = ip.Unmap()
		a.networks = append(a.networks, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(item), ".")
	wildcard := strings.HasPrefix(name, "*.")
	if wildcard {
		name = name[2:]
	}
	switch {
	case name == "*" || name == "":
		return fmt.Errorf("%q would allow every host: leave the list empty for that", item)
	case strings.Contains(name, ":"):
		return fmt.Errorf("%q has a port or is not an address: give the host without a port (callbacks to any port of an allowed host are allowed)", item)
	case !validHostName(name):
		return fmt.Errorf("%q is not a host name, a wildcard (only *. in front) or a network; %s", item, examples)
	}
	if wildcard {
		a.suffixes = append(a.suffixes, "."+name)
	} else {
		a.names = append(a.names, name)
	}
	return nil
}

func validHostName(s string) bool {
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return len(s) <= 253
}

// Empty reports whether the list allows every target.
func (a CallbackAllow) Empty() bool { return len(a.names)+len(a.suffixes)+len(a.networks) == 0 }

// String is the list as parsed, comma-separated.
func (a CallbackAllow) String() string { return a.text }

func (a CallbackAllow) allowsName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, n := range a.names {
		if host == n {
			return true
		}
	}
	for _, suffix := range a.suffixes {
		if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
			return true
		}
	}
	return false
}

func (a CallbackAllow) allowsAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range a.networks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// notAllowedError is a callback target the allow-list refuses, found when connecting.
type notAllowedError struct{ host, addr string }

func (e *notAllowedError) Error() string {
	if e.addr == e.host {
		return fmt.Sprintf("refused: %s is not allowed by %s (not in a listed network); not retried", e.host, settingAllow)
	}
	return fmt.Sprintf("refused: %s (connecting to %s) is not allowed by %s (not a listed name, and the address is in no listed network); not retried",
		e.host, e.addr, settingAllow)
}

// dialAllowed dials like net.Dialer, and refuses a connection the allow-list does not allow:
// by the host's name, or by the address connected to, checked in the dialer's Control
// function after the name was resolved.
func (a CallbackAllow) dialAllowed(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !a.allowsName(host) {
		d.Control = func(_, connectTo string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(connectTo)
			if err == nil && a.allowsAddr(ap.Addr()) {
				return nil
			}
			ip := connectTo
			if err == nil {
				ip = ap.Addr().Unmap().String()
			}
			return &notAllowedError{host: host, addr: ip}
		}
	}
	return d.DialContext(ctx, network, address)
}
