package mockserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

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
